using RumpFs.Tools.Ukfs;

using Stream stdout = Console.OpenStandardOutput();
using Stream stderr = Console.OpenStandardError();
using var textOut = new NameBytesWriter(stdout, flushEachWrite: false);
using var textErr = new NameBytesWriter(stderr, flushEachWrite: true);
return Cli.Run(RawArguments.Recover(args), textOut, textErr, progress: !Console.IsErrorRedirected, stdout);
