using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The option parser takes a letter it does not know inside a group ("ls -lh" without an
/// h) for a path named "h", and a lone "-1" for a value. Each one-dash argument is checked
/// here first against the verb's own letters, so such a line is the one-line error it is.
/// </summary>
internal static class ShortOptionCheck
{
    /// <summary>Throw a usage error naming the first letter <paramref name="optionsType"/> does not declare (<paramref name="args"/> starts with the verb).</summary>
    public static void Check(string verb, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type optionsType, string[] args)
    {
        var letters = new Dictionary<char, bool>();
        var longNames = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (PropertyInfo p in optionsType.GetProperties())
        {
            if (p.GetCustomAttribute<OptionAttribute>() is not OptionAttribute a)
            {
                continue;
            }
            bool takesValue = p.PropertyType != typeof(bool);
            if (a.ShortName.Length == 1)
            {
                letters[a.ShortName[0]] = takesValue;
            }
            if (a.LongName.Length > 0)
            {
                longNames[a.LongName] = takesValue;
            }
        }
        for (int i = 1; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                return;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                // A long option that takes a value and has no "=VALUE" takes the next argument.
                if (!arg.Contains('=', StringComparison.Ordinal) && longNames.GetValueOrDefault(arg[2..]))
                {
                    i++;
                }
                continue;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                continue;
            }
            for (int k = 1; k < arg.Length; k++)
            {
                if (!letters.TryGetValue(arg[k], out bool takesValue))
                {
                    throw new UsageException($"{verb}: unknown option '{arg[k]}'");
                }
                if (takesValue)
                {
                    // The rest of the group is its value, or else the next argument is.
                    i += k == arg.Length - 1 ? 1 : 0;
                    break;
                }
            }
        }
    }
}
