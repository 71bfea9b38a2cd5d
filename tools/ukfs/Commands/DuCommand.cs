using System.Globalization;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// du [-a] [-s] [-c] [-d N] [-h | -b | --apparent-size] [PATH...]: the space each directory
/// takes with everything below it, as GNU du counts it: storage allocated (or sizes, with
/// --apparent-size), a file with several links counted once across all PATHs, a symbolic
/// link by its own size, each directory after its contents, in 1024-byte blocks rounded up.
/// With several PATHs, anything one of them already counted (a directory named twice, or
/// inside another PATH) is counted and shown only the first time, as du does.
/// </summary>
internal static class DuCommand
{
    public static int Run(CommandContext ctx, DuOptions o)
    {
        List<string> paths = o.Paths.Any() ? [.. o.Paths] : ["."];
        var walk = new DuWalk(ctx, o, countEachNodeOnce: paths.Count > 1);
        long total = 0;
        ctx.ForEach(paths, path =>
        {
            VAttr va = ctx.Mount.Lstat(path);
            total += walk.Visit(path, va, depth: 0);
        });
        if (o.Total)
        {
            walk.Print(total, "total");
        }
        return 0;
    }

    private sealed class DuWalk(CommandContext ctx, DuOptions o, bool countEachNodeOnce)
    {
        private readonly HashSet<ulong> _seen = [];
        private readonly DirectoryCycles _cycles = new();

        /// <summary>The bytes below <paramref name="path"/> (itself included), printing what the options ask for on the way.</summary>
        public long Visit(string path, VAttr va, int depth)
        {
            bool once = countEachNodeOnce || (va.Type != VType.Directory && va.Nlink > 1);
            if (once && !_seen.Add(va.Ino))
            {
                return 0;
            }
            long bytes = Own(va);
            if (va.Type == VType.Directory && _cycles.TryEnter(ctx, path, va.Ino))
            {
                try
                {
                    bytes += Entries(path, depth);
                }
                finally
                {
                    _cycles.Leave(va.Ino);
                }
            }
            bool shown = va.Type == VType.Directory ? Within(depth) : depth == 0 || (o.All && Within(depth));
            if (shown)
            {
                Print(bytes, path);
            }
            return bytes;
        }

        private long Entries(string path, int depth)
        {
            IReadOnlyList<UkfsDirEntry> entries;
            try
            {
                entries = ctx.ListDirectory(path);
            }
            catch (UkfsException e)
            {
                ctx.Error(e.Message);
                return 0;
            }
            long bytes = 0;
            foreach (UkfsDirEntry e in entries)
            {
                bytes += Visit(UkfsMount.Combine(path, e.Name), e.Attributes, depth + 1);
            }
            return bytes;
        }

        /// <summary>-s shows depth 0 only, -d N down to N.</summary>
        private bool Within(int depth) => depth <= (o.Summarize ? 0 : o.MaxDepth ?? int.MaxValue);

        private long Own(VAttr va) => o.Apparent || o.Bytes ? Math.Max(0, va.Size) : va.BytesUsed;

        public void Print(long bytes, string path)
        {
            string size = o.Bytes ? bytes.ToString(CultureInfo.InvariantCulture)
                : o.Human ? Format.Human(bytes)
                : ((bytes + 1023) / 1024).ToString(CultureInfo.InvariantCulture);
            ctx.Out.WriteLine(size + "\t" + path);
        }
    }
}
