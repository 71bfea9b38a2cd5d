using RumpFs.Tools.Ukfs;

// Standard output through write(2), so that a closed pipe stops the command (see StandardOutput).
// Disposed by hand: a flush into a closed pipe throws, and that is the end of the output.
var stdout = new BufferedStream(new StandardOutput(), 1 << 16);
using Stream stderr = Console.OpenStandardError();
var textOut = new NameBytesWriter(stdout, flushEachWrite: false);
using var textErr = new NameBytesWriter(stderr, flushEachWrite: true);
int rc = Cli.Run(RawArguments.Recover(args), textOut, textErr, progress: !Console.IsErrorRedirected, stdout);
try
{
    textOut.Dispose();
    stdout.Dispose();
}
catch (BrokenPipeException)
{
    rc = BrokenPipeException.ExitStatus;
}
return rc;
