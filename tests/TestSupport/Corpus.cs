using Xunit;

namespace RumpFs.TestSupport;

/// <summary>One image of the corpus (a row of images.tsv).</summary>
public sealed record CorpusImage(string Name, string FsType, string ImagePath, string ManifestPath, string Description)
{
    public override string ToString() => Name;

    /// <summary>A private read-write copy of the image, deleted with the returned scratch folder.</summary>
    public string CopyTo(ScratchDir scratch)
    {
        string dest = Path.Combine(scratch.Path, Name + ".img");
        File.Copy(ImagePath, dest, overwrite: true);
        return dest;
    }
}

/// <summary>
/// The image corpus built by tests/images/build-corpus.sh, built at most once per cache
/// (the script locks and caches itself; this class builds it once per test process).
/// </summary>
public static class Corpus
{
    private static readonly Lazy<string> s_dir = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository root (the folder with RumpFs.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "RumpFs.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }
            return dir ?? throw new InvalidOperationException("RumpFs.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The cache folder holding the images.</summary>
    public static string Directory => s_dir.Value;

    public static IReadOnlyList<CorpusImage> All =>
        [.. File.ReadAllLines(Path.Combine(Directory, "images.tsv"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split('\t'))
            .Select(f => new CorpusImage(f[0], f[1], Path.Combine(Directory, f[2]), Path.Combine(Directory, f[3]), f[4]))];

    /// <summary>Images of one driver ("ffs", "ext2fs", "msdos").</summary>
    public static IReadOnlyList<CorpusImage> OfType(string fsType) => [.. All.Where(i => i.FsType == fsType)];

    public static CorpusImage Get(string name) =>
        All.SingleOrDefault(i => i.Name == name) ?? throw new ArgumentException($"no corpus image {name}");

    /// <summary>xunit MemberData: the names of a driver's images.</summary>
    public static TheoryData<string> NamesOf(string fsType)
    {
        var data = new TheoryData<string>();
        foreach (CorpusImage i in OfType(fsType))
        {
            data.Add(i.Name);
        }
        return data;
    }

    private static string Build()
    {
        string script = Path.Combine(RepoRoot, "tests", "images", "build-corpus.sh");
        string cache = Environment.GetEnvironmentVariable("RUMPFS_CORPUS") ?? Path.Combine(RepoRoot, "tests", "images", "cache");
        ToolResult r = OracleTool.Run("bash", script, cache);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException("building the image corpus failed\n" + r.Transcript);
        }
        return r.Stdout.Trim().Split('\n')[^1];
    }
}
