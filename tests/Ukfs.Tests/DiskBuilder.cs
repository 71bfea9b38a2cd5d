using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>Builds partitioned disk images for tests with public tools (sfdisk, mkfs.fat, mke2fs).</summary>
internal static class DiskBuilder
{
    public const int Sector = 512;

    /// <summary>A sparse file of <paramref name="bytes"/> bytes.</summary>
    public static string Sparse(ScratchDir dir, string name, long bytes)
    {
        string path = dir.File(name);
        using (var fs = new FileStream(path, FileMode.Create))
        {
            fs.SetLength(bytes);
        }
        return path;
    }

    /// <summary>Partition <paramref name="image"/> with an sfdisk script.</summary>
    public static void Sfdisk(string image, string script)
    {
        ToolResult r = OracleTool.Run("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", image], stdin: script);
        Assert.True(r.ExitCode == 0, r.Transcript);
    }

    /// <summary>Copy the file <paramref name="fsImage"/> into <paramref name="disk"/> at sector <paramref name="startSector"/>.</summary>
    public static void Place(string disk, string fsImage, long startSector)
    {
        using var src = File.OpenRead(fsImage);
        using var dst = new FileStream(disk, FileMode.Open, FileAccess.Write);
        dst.Position = startSector * Sector;
        src.CopyTo(dst);
    }

    /// <summary>Write <paramref name="bytes"/> at <paramref name="offset"/> of <paramref name="file"/>.</summary>
    public static void Poke(string file, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    /// <summary>A FAT file system image of <paramref name="sectors"/> sectors holding one file.</summary>
    public static string FatImage(ScratchDir dir, string name, long sectors, int fatBits, string fileName, string text)
    {
        string path = dir.File(name);
        OracleTool.RunExpect(0, "mkfs.fat", "-C", "-F", fatBits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            path, (sectors / 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
        string host = dir.File(fileName);
        File.WriteAllText(host, text);
        ToolResult r = OracleTool.Run("mcopy", ["-i", path, host, "::/" + fileName]);
        Assert.True(r.ExitCode == 0, r.Transcript);
        return path;
    }

    /// <summary>An ext image of <paramref name="sectors"/> sectors made by mke2fs -d from a folder holding one file.</summary>
    public static string ExtImage(ScratchDir dir, string name, long sectors, string type, string fileName, string text)
    {
        string tree = Path.Combine(dir.Path, name + ".tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, fileName), text);
        string path = dir.File(name);
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", type, "-b", "1024", "-d", tree, path,
            (sectors / 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return path;
    }
}
