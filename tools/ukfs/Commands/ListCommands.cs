using System.Text.Json;
using RumpFs.Tools.Ukfs.Json;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>ls and stat.</summary>
internal static class ListCommands
{
    public static int Ls(CommandContext ctx, LsOptions o)
    {
        List<string> paths = o.Paths.Any() ? [.. o.Paths] : ["/"];
        var json = new List<FileJson>();
        bool headers = paths.Count > 1 || o.Recursive;
        bool first = true;
        ctx.ForEach(paths, path =>
        {
            VAttr va = ctx.Mount.Stat(path);
            if (va.Type != VType.Directory || o.Directory)
            {
                VAttr own = ctx.Mount.Lstat(path);
                Emit(ctx, o, json, path, path, own);
                return;
            }
            ListDirectory(ctx, o, json, path, va.Ino, headers, ref first, new DirectoryCycles());
        });
        if (o.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(json, UkfsJsonContext.Default.ListFileJson));
        }
        return 0;
    }

    private static void ListDirectory(CommandContext ctx, LsOptions o, List<FileJson> json, string dir, ulong ino, bool headers,
        ref bool first, DirectoryCycles cycles)
    {
        if (!cycles.TryEnter(ctx, dir, ino))
        {
            return;
        }
        try
        {
            ListEntries(ctx, o, json, dir, headers, ref first, cycles);
        }
        finally
        {
            cycles.Leave(ino);
        }
    }

    private static void ListEntries(CommandContext ctx, LsOptions o, List<FileJson> json, string dir, bool headers,
        ref bool first, DirectoryCycles cycles)
    {
        IReadOnlyList<UkfsDirEntry> entries = ctx.ListDirectory(dir, keepUnreadable: !o.Json);
        if (headers && !o.Json)
        {
            if (!first)
            {
                ctx.Out.WriteLine();
            }
            ctx.Out.WriteLine(dir + ":");
        }
        first = false;
        foreach (UkfsDirEntry e in entries)
        {
            Emit(ctx, o, json, UkfsMount.Combine(dir, e.Name), e);
        }
        if (!o.Recursive)
        {
            return;
        }
        foreach (UkfsDirEntry e in entries.Where(e => e.Type == VType.Directory && e.Error is null))
        {
            try
            {
                ListDirectory(ctx, o, json, UkfsMount.Combine(dir, e.Name), e.Attributes.Ino, headers, ref first, cycles);
            }
            catch (UkfsException ex)
            {
                ctx.Error(ex.Message);
            }
        }
    }

    /// <summary>One entry of a listing; one that cannot be read shows its name, with ls -l's question marks.</summary>
    private static void Emit(CommandContext ctx, LsOptions o, List<FileJson> json, string path, UkfsDirEntry e)
    {
        if (e.Error is null)
        {
            Emit(ctx, o, json, path, e.Name, e.Attributes);
        }
        else
        {
            ctx.Out.WriteLine(o.Long ? $"?????????? {"?",3} {"?",5} {"?",5} {"?",10} {"?",16} {e.Name}" : e.Name);
        }
    }

    private static void Emit(CommandContext ctx, LsOptions o, List<FileJson> json, string path, string name, VAttr va)
    {
        string? target = va.Type == VType.Symlink ? TryReadLink(ctx.Mount, path) : null;
        if (o.Json)
        {
            json.Add(ToJson(path, name, va, target));
        }
        else if (o.Long)
        {
            string size = va.Type is VType.CharDevice or VType.BlockDevice ? Format.DeviceNumbers(va.Rdev)
                : o.Human ? Format.Human(va.Size) : Format.Invariant(va.Size);
            string suffix = target is null ? "" : " -> " + target;
            string aclMark = va.Type != VType.Symlink && HasExtendedAcl(ctx.Mount, path) ? "+" : " ";
            ctx.Out.WriteLine($"{Format.ModeString(va.Type, va.Mode)}{aclMark}{va.Nlink,3} {va.Uid,5} {va.Gid,5} {size,10} {Format.ShortTime(va.Mtime)} {name}{suffix}");
        }
        else
        {
            ctx.Out.WriteLine(name);
        }
    }

    /// <summary>ls's "+" after the mode; a file whose attributes cannot be read gets none (ls prints the rest too).</summary>
    private static bool HasExtendedAcl(UkfsMount fs, string path)
    {
        try
        {
            return fs.HasExtendedAcl(path);
        }
        catch (UkfsException)
        {
            return false;
        }
    }

    internal static string? TryReadLink(UkfsMount fs, string path)
    {
        try
        {
            return fs.ReadLink(path);
        }
        catch (UkfsException)
        {
            return null;
        }
    }

    internal static FileJson ToJson(string path, string name, VAttr va, string? target) => new(
        path, name, Format.TypeName(va.Type), Format.Octal(va.Mode), va.Size, va.Nlink, va.Uid, va.Gid, va.Ino,
        va.BytesUsed / 512, Format.Time(va.Atime), Format.Time(va.Mtime), Format.Time(va.Ctime), target);

    public static int Stat(CommandContext ctx, StatOptions o)
    {
        var json = new List<FileJson>();
        ctx.ForEach(o.Paths, path =>
        {
            VAttr va = o.Follow ? ctx.Mount.Stat(path) : ctx.Mount.Lstat(path);
            string? target = va.Type == VType.Symlink ? ctx.Mount.ReadLink(path) : null;
            if (UserFormat(o) is (string format, bool escapes, bool newline))
            {
                ctx.Out.Write(StatFormat.Render(format, new StatSubject(path, va, target), escapes, m => ctx.Warn(m)));
                ctx.Out.Write(newline ? "\n" : "");
                return;
            }
            if (o.Json)
            {
                json.Add(ToJson(path, Path.GetFileName(path.TrimEnd('/')), va, target));
                return;
            }
            TextWriter w = ctx.Out;
            w.WriteLine($"  File: {path}{(target is null ? "" : " -> " + target)}");
            w.WriteLine($"  Type: {Format.TypeName(va.Type)}  Size: {va.Size}  Blocks: {va.BytesUsed / 512}  IO Block: {va.BlockSize}");
            w.WriteLine($" Inode: {va.Ino}  Links: {va.Nlink}  Generation: {va.Generation}  Flags: 0x{va.Flags:x}");
            w.WriteLine($"Access: ({Format.Octal(va.Mode)}/{Format.ModeString(va.Type, va.Mode)})  Uid: {va.Uid}  Gid: {va.Gid}");
            if (va.Type is VType.CharDevice or VType.BlockDevice)
            {
                w.WriteLine($"Device: {Format.DeviceNumbers(va.Rdev)}");
            }
            w.WriteLine($"Access: {Format.Time(va.Atime)}");
            w.WriteLine($"Modify: {Format.Time(va.Mtime)}");
            w.WriteLine($"Change: {Format.Time(va.Ctime)}");
            w.WriteLine($" Birth: {Format.Time(va.Birthtime)}");
        });
        if (o.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(json, UkfsJsonContext.Default.ListFileJson));
        }
        return 0;
    }

    /// <summary>The format -c, --printf or --terse asks for, whether its escapes are read and a newline follows; null for stat's own form.</summary>
    private static (string Format, bool Escapes, bool Newline)? UserFormat(StatOptions o) =>
        o.Printf is not null ? (o.Printf, true, false)
        : o.Format is not null ? (o.Format, false, true)
        : o.Terse ? (StatFormat.Terse, false, true)
        : null;
}
