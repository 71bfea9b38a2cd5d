using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// lsattr and chattr, as e2fsprogs has them. Only regular files and directories have flags
/// to show or change: another kind named on the command line is an error (EOPNOTSUPP, as
/// e2fsprogs says), and inside a listed or recursed directory it is passed over. Entries
/// are listed in name order, where e2fsprogs keeps the directory's own order.
/// </summary>
internal static class FileFlagCommands
{
    public static int Lsattr(CommandContext ctx, LsattrOptions o)
    {
        IEnumerable<string> paths = o.Paths.Any() ? o.Paths : ["/"];
        ctx.ForEach(paths, path =>
        {
            VAttr va = ctx.Mount.Lstat(path);
            if (va.Type == VType.Directory && !o.Directories)
            {
                var cycles = new DirectoryCycles();
                if (cycles.TryEnter(ctx, path, va.Ino))
                {
                    ListDirectory(ctx, o, path, cycles);
                }
                return;
            }
            RequireFlagsKind(path, va.Type);
            ShowLine(ctx, o, path);
        });
        return 0;
    }

    private static void ListDirectory(CommandContext ctx, LsattrOptions o, string dir, DirectoryCycles cycles)
    {
        foreach (UkfsDirEntry e in ctx.ListDirectory(dir))
        {
            if (e.Name is "." or ".." || (e.Name.StartsWith('.') && !o.All) || !HasFlags(e.Attributes.Type))
            {
                continue;
            }
            string path = UkfsMount.Combine(dir, e.Name);
            try
            {
                ShowLine(ctx, o, path);
                if (o.Recursive && e.Attributes.Type == VType.Directory && cycles.TryEnter(ctx, path, e.Attributes.Ino))
                {
                    ctx.Out.WriteLine();
                    ctx.Out.WriteLine(path + ":");
                    try
                    {
                        ListDirectory(ctx, o, path, cycles);
                    }
                    finally
                    {
                        cycles.Leave(e.Attributes.Ino);
                    }
                    ctx.Out.WriteLine();
                }
            }
            catch (UkfsException ex)
            {
                ctx.Error(ex.Message);
            }
        }
    }

    /// <summary>One line of lsattr: with -p the project id first, right-aligned in five columns ("%5u ").</summary>
    private static void ShowLine(CommandContext ctx, LsattrOptions o, string path)
    {
        string project = o.Project ? $"{ctx.Mount.GetProjectId(path),5} " : "";
        ctx.Out.WriteLine($"{project}{FileFlagLetters.Format(ctx.Mount.GetFileFlags(path))} {path}");
    }

    public static int Chattr(CommandContext ctx, ChattrOptions o)
    {
        foreach (string path in o.Paths)
        {
            try
            {
                VAttr va = ctx.Mount.Lstat(path);
                RequireFlagsKind(path, va.Type);
                Change(ctx, o, path, va, new DirectoryCycles());
            }
            catch (UkfsException e)
            {
                Report(ctx, o, e);
            }
        }
        return 0;
    }

    /// <summary>The flags first, then the project, as e2fsprogs' chattr changes them.</summary>
    private static void Change(CommandContext ctx, ChattrOptions o, string path, VAttr va, DirectoryCycles cycles)
    {
        VType type = va.Type;
        if (o.Modes.Count > 0)
        {
            FileFlags old = ctx.Mount.GetFileFlags(path);
            (FileFlags add, FileFlags remove, FileFlags? exactly) = o.Change;
            // "=" replaces what chattr can set; what it cannot (a file's layout: extents, inline
            // data...) stays, as the kernel would otherwise try to convert the file.
            FileFlags wanted = exactly is FileFlags set
                ? set | (old & (FileFlags.Extents | FileFlags.Encrypted | FileFlags.Indexed | FileFlags.InlineData | FileFlags.Verity))
                : (old | add) & ~remove;
            ctx.Mount.SetFileFlags(path, wanted);
        }
        if (o.Project is uint project)
        {
            ctx.Mount.SetProjectId(path, project);
        }
        if (!o.Recursive || type != VType.Directory || !cycles.TryEnter(ctx, path, va.Ino))
        {
            return;
        }
        try
        {
            foreach (UkfsDirEntry e in ctx.ListDirectory(path))
            {
                if (e.Name is "." or ".." || !HasFlags(e.Attributes.Type))
                {
                    continue;
                }
                try
                {
                    Change(ctx, o, UkfsMount.Combine(path, e.Name), e.Attributes, cycles);
                }
                catch (UkfsException ex)
                {
                    Report(ctx, o, ex);
                }
            }
        }
        finally
        {
            cycles.Leave(va.Ino);
        }
    }

    private static void Report(CommandContext ctx, ChattrOptions o, UkfsException e)
    {
        if (o.Quiet)
        {
            ctx.FailSilently();
        }
        else
        {
            ctx.Error(e.Message);
        }
    }

    private static bool HasFlags(VType type) => type is VType.Regular or VType.Directory;

    private static void RequireFlagsKind(string path, VType type)
    {
        if (!HasFlags(type))
        {
            throw new UkfsException(Errno.EOPNOTSUPP, path, $"{path}: {Format.TypeName(type)} has no flags (only files and directories do)");
        }
    }
}
