namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Argument forms the host's own tools take that the option parser would misread: a chmod
/// mode starting with '-' ("-w", "-x,o-r"), find(1)'s one-dash tests ("-name", "-type",
/// "-size") and ls -1. They are rewritten into the forms the verbs declare before parsing.
/// </summary>
internal static class VerbArgumentForms
{
    private static readonly HashSet<string> FindTests = ["-name", "-type", "-size"];

    /// <summary><paramref name="args"/> (the verb first) in the forms the verb's options declare.</summary>
    public static string[] Rewrite(string verb, string[] args) => verb switch
    {
        "chmod" => ModeFirst(args),
        "find" => [.. args.Select(a => FindTests.Contains(a) ? "-" + a : a)],
        "ls" => OnePerLineDropped(args),
        _ => args,
    };

    /// <summary>
    /// ls -1 (one name per line) is what the short form does anyway; the parser would take
    /// "-1" for a number, so the letter is dropped from its group (up to a "--").
    /// </summary>
    private static string[] OnePerLineDropped(string[] args)
    {
        int end = Array.IndexOf(args, "--");
        end = end < 0 ? args.Length : end;
        var kept = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (i > 0 && i < end && a.Length > 1 && a[0] == '-' && a[1] != '-' && a.Contains('1', StringComparison.Ordinal))
            {
                a = a.Replace("1", "", StringComparison.Ordinal);
                if (a == "-")
                {
                    continue;
                }
            }
            kept.Add(a);
        }
        return [.. kept];
    }

    /// <summary>
    /// chmod takes no options: a first argument such as "-w" is the mode, as chmod(1) reads
    /// it (<paramref name="args"/> starts with the verb).
    /// </summary>
    private static string[] ModeFirst(string[] args) =>
        args.Length > 1 && args[1] != "--" && args[1].Length > 1 && args[1][0] == '-' && args[1].All(c => "+-=,ugoarwxXst01234567".Contains(c))
            ? [args[0], "--", .. args[1..]]
            : args;
}
