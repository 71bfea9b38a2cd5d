namespace RumpFs.TestSupport;

/// <summary>One line of a corpus manifest (see tests/images/manifest.sh).</summary>
public sealed record ManifestEntry(string Path, char Type, uint Mode, long Size, int Nlink, string? Sha256, string? Target);

/// <summary>Reads manifests written by tests/images/manifest.sh.</summary>
public static class Manifest
{
    public static IReadOnlyList<ManifestEntry> Read(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(Parse)];

    /// <summary>
    /// The manifest lines of a tree on the host, written by tests/images/manifest.sh (find,
    /// stat and sha256sum: tools independent of RumpFs), in the script's order.
    /// </summary>
    public static string[] OfTree(string root)
    {
        string script = System.IO.Path.Combine(Corpus.RepoRoot, "tests", "images", "manifest.sh");
        ToolResult r = OracleTool.Run("bash", "-c", "source \"$1\" && write_manifest \"$2\"", "manifest", script, root);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException("manifest.sh failed: " + r.Transcript);
        }
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static ManifestEntry Parse(string line)
    {
        string[] f = line.Split('\t');
        return new ManifestEntry(
            f[0],
            f[1][0],
            Convert.ToUInt32(f[2], 8),
            long.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture),
            f[5] == "-" ? null : f[5],
            f[6] == "-" ? null : f[6]);
    }
}
