using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>find PATH [--name GLOB] [--type X] [--size [+-]N[ckMG]]: paths that match every test.</summary>
internal static class FindCommand
{
    public static int Run(CommandContext ctx, FindOptions o)
    {
        Regex? name = o.Name is null ? null : GlobToRegex(o.Name);
        VType? type = o.Type is null ? null : ParseType(o.Type);
        Func<long, bool>? size = o.Size is null ? null : ParseSize(o.Size);
        string root = o.Path ?? "/";
        VAttr va = ctx.Mount.Lstat(root);
        Visit(ctx, root, Path.GetFileName(root.TrimEnd('/')), va, name, type, size, new DirectoryCycles());
        return 0;
    }

    private static void Visit(CommandContext ctx, string path, string entryName, VAttr va, Regex? name, VType? type,
        Func<long, bool>? size, DirectoryCycles cycles)
    {
        bool match = (name is null || name.IsMatch(entryName))
            && (type is null || va.Type == type)
            && (size is null || size(va.Size));
        if (match)
        {
            ctx.Out.WriteLine(path);
        }
        if (va.Type != VType.Directory || !cycles.TryEnter(ctx, path, va.Ino))
        {
            return;
        }
        try
        {
            VisitEntries(ctx, path, name, type, size, cycles);
        }
        finally
        {
            cycles.Leave(va.Ino);
        }
    }

    private static void VisitEntries(CommandContext ctx, string path, Regex? name, VType? type, Func<long, bool>? size, DirectoryCycles cycles)
    {
        IReadOnlyList<UkfsDirEntry> entries;
        try
        {
            entries = ctx.ListDirectory(path);
        }
        catch (UkfsException e)
        {
            ctx.Error(e.Message);
            return;
        }
        foreach (UkfsDirEntry e in entries)
        {
            Visit(ctx, UkfsMount.Combine(path, e.Name), e.Name, e.Attributes, name, type, size, cycles);
        }
    }

    /// <summary>A shell pattern (*, ?, [set]) as an anchored regular expression.</summary>
    internal static Regex GlobToRegex(string glob)
    {
        var sb = new System.Text.StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            switch (c)
            {
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    int close = glob.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }
                    string set = glob[(i + 1)..close];
                    if (set.StartsWith('!'))
                    {
                        set = "^" + set[1..];
                    }
                    sb.Append('[').Append(set.Replace(@"\", @"\\", StringComparison.Ordinal)).Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static VType ParseType(string t) => t switch
    {
        "f" => VType.Regular,
        "d" => VType.Directory,
        "l" => VType.Symlink,
        "c" => VType.CharDevice,
        "b" => VType.BlockDevice,
        "p" => VType.Fifo,
        "s" => VType.Socket,
        _ => throw new UsageException($"find: bad --type '{t}' (expected f, d, l, c, b, p or s)"),
    };

    /// <summary>find(1)'s -size: units round up, "+" means more than, "-" less than.</summary>
    internal static Func<long, bool> ParseSize(string text)
    {
        int sign = text.StartsWith('+') ? 1 : text.StartsWith('-') ? -1 : 0;
        string body = sign == 0 ? text : text[1..];
        long unit = 512;
        if (body.Length > 0 && !char.IsAsciiDigit(body[^1]))
        {
            unit = body[^1] switch
            {
                'c' => 1,
                'k' => 1024,
                'M' => 1L << 20,
                'G' => 1L << 30,
                _ => throw new UsageException($"find: bad --size unit in '{text}' (c, k, M or G)"),
            };
            body = body[..^1];
        }
        if (!long.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            throw new UsageException($"find: bad --size '{text}'");
        }
        return size =>
        {
            long units = (size + unit - 1) / unit;
            return sign switch { 1 => units > n, -1 => units < n, _ => units == n };
        };
    }
}
