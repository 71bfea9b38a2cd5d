using System.Text;

namespace RumpFs.P2k.Protocol;

/// <summary>Reads /proc/self/mountinfo: is a directory a mount point, and of which file system.</summary>
internal static class MountTable
{
    /// <summary>The file-system type mounted at <paramref name="path"/> (absolute, canonical), or null.</summary>
    public static string? TypeAt(string path)
    {
        string? result = null;
        foreach (string line in ReadLines())
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            string[] f = line.Split(' ');
            if (f.Length < 7 || Unescape(f[4]) != path)
            {
                continue;
            }
            int dash = Array.IndexOf(f, "-");
            // The last mount on a path hides earlier ones; keep the last match.
            result = dash > 0 && dash + 1 < f.Length ? f[dash + 1] : "";
        }
        return result;
    }

    public static bool IsMountPoint(string path) => TypeAt(path) is not null;

    private static string[] ReadLines()
    {
        try
        {
            return File.ReadAllLines("/proc/self/mountinfo");
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length
                && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                bytes.Add((byte)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
