namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Argument forms the host's own tools take that the option parser would misread: a chmod
/// mode starting with '-' ("-w", "-x,o-r") and find(1)'s one-dash tests ("-name", "-type",
/// "-size"). They are rewritten into the forms the verbs declare before parsing.
/// </summary>
internal static class VerbArgumentForms
{
    private static readonly HashSet<string> FindTests = ["-name", "-type", "-size"];

    /// <summary><paramref name="args"/> (the verb first) in the forms the verb's options declare.</summary>
    public static string[] Rewrite(string verb, string[] args) => verb switch
    {
        "chmod" => ModeFirst(args),
        "find" => [.. args.Select(a => FindTests.Contains(a) ? "-" + a : a)],
        _ => args,
    };

    /// <summary>
    /// chmod takes no options: a first argument such as "-w" is the mode, as chmod(1) reads
    /// it (<paramref name="args"/> starts with the verb).
    /// </summary>
    private static string[] ModeFirst(string[] args) =>
        args.Length > 1 && args[1] != "--" && args[1].Length > 1 && args[1][0] == '-' && args[1].All(c => "+-=,ugoarwxXst01234567".Contains(c))
            ? [args[0], "--", .. args[1..]]
            : args;
}
