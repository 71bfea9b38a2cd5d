using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// tree [-a] [-d] [-L LEVEL] [PATH...]: the hierarchy drawn as tree 2 draws it with
/// --charset=ascii, in name order, and its report line: the directories (each PATH among
/// them, and a symbolic link to one) and the files. Names starting with '.' are left out
/// unless -a, as tree does; links are shown, not followed.
/// </summary>
internal static class TreeCommand
{
    public static int Run(CommandContext ctx, TreeOptions o)
    {
        var counts = new Counts();
        ctx.ForEach(o.Paths.Any() ? o.Paths : ["."], root =>
        {
            VAttr va = ctx.Mount.Stat(root);
            ctx.Out.WriteLine(root);
            if (va.Type != VType.Directory)
            {
                counts.Files++;
                return;
            }
            counts.Directories++;
            var cycles = new DirectoryCycles();
            if (cycles.TryEnter(ctx, root, va.Ino))
            {
                Level(ctx, o, root, "", 1, counts, cycles);
            }
        });
        ctx.Out.WriteLine();
        ctx.Out.WriteLine(o.DirectoriesOnly ? Plural(counts.Directories, "directory", "directories")
            : $"{Plural(counts.Directories, "directory", "directories")}, {Plural(counts.Files, "file", "files")}");
        return 0;
    }

    private sealed class Counts
    {
        public int Directories;
        public int Files;
    }

    private static string Plural(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";

    private static void Level(CommandContext ctx, TreeOptions o, string dir, string indent, int depth, Counts counts, DirectoryCycles cycles)
    {
        IReadOnlyList<UkfsDirEntry> listed;
        try
        {
            listed = ctx.ListDirectory(dir, keepUnreadable: true);
        }
        catch (UkfsException e)
        {
            ctx.Error(e.Message);
            return;
        }
        List<(UkfsDirEntry Entry, bool IsDirectory)> entries = [.. listed
            .Where(e => o.All || !e.Name.StartsWith('.'))
            .Select(e => (e, IsDirectory(ctx, dir, e)))
            .Where(e => !o.DirectoriesOnly || e.Item2)];
        for (int i = 0; i < entries.Count; i++)
        {
            (UkfsDirEntry e, bool isDirectory) = entries[i];
            bool last = i == entries.Count - 1;
            string path = UkfsMount.Combine(dir, e.Name);
            string suffix = e.Type == VType.Symlink ? " -> " + (ListCommands.TryReadLink(ctx.Mount, path) ?? "?") : "";
            ctx.Out.WriteLine($"{indent}{(last ? "`-- " : "|-- ")}{e.Name}{suffix}");
            if (!isDirectory)
            {
                counts.Files++;
                continue;
            }
            counts.Directories++;
            bool descend = e.Type == VType.Directory && e.Error is null && (o.Level is null || depth < o.Level);
            if (descend && cycles.TryEnter(ctx, path, e.Attributes.Ino))
            {
                Level(ctx, o, path, indent + (last ? "    " : "|   "), depth + 1, counts, cycles);
                cycles.Leave(e.Attributes.Ino);
            }
        }
    }

    /// <summary>A directory, or a symbolic link to one (tree counts it among the directories and does not follow it).</summary>
    private static bool IsDirectory(CommandContext ctx, string dir, UkfsDirEntry e)
    {
        if (e.Type != VType.Symlink)
        {
            return e.Type == VType.Directory;
        }
        try
        {
            return ctx.Mount.Stat(UkfsMount.Combine(dir, e.Name)).Type == VType.Directory;
        }
        catch (UkfsException)
        {
            return false;
        }
    }
}
