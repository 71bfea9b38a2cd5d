using CommandLine;

namespace RumpFs.P2k.Daemon;

/// <summary>The raw command line, as CommandLineParser fills it.</summary>
public sealed class DaemonArguments
{
    /// <summary>
    /// The -o values in order. Collected before CommandLineParser runs (see
    /// <see cref="SplitMountOptions"/>): its sequence options swallow the operands that
    /// follow, and -o may be given more than once.
    /// </summary>
    public IReadOnlyList<string> Options { get; set; } = [];

    [Option('f', HelpText = "Stay in the foreground.")]
    public bool Foreground { get; set; }

    [Option('d', HelpText = "Log every request (implies -f).")]
    public bool Debug { get; set; }

    [Value(0)]
    public IEnumerable<string> Operands { get; set; } = [];

    /// <summary>Take "-o value" and "-ovalue" out of <paramref name="args"/>; the rest is returned.</summary>
    public static string[] SplitMountOptions(string[] args, List<string> options, out string? error)
    {
        error = null;
        var rest = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                rest.AddRange(args[i..]);
                break;
            }
            if (a == "-o")
            {
                if (i + 1 >= args.Length)
                {
                    error = "option '-o' needs a value";
                    return [];
                }
                options.Add(args[++i]);
            }
            else if (a.StartsWith("-o", StringComparison.Ordinal))
            {
                options.Add(a[2..]);
            }
            else
            {
                rest.Add(a);
            }
        }
        return [.. rest];
    }
}
