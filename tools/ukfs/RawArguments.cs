using System.Text;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The command line as the bytes it was given. .NET decodes argv as UTF-8 and turns bytes
/// that are not UTF-8 into U+FFFD, which would make a name such as Latin-1 "caf\xe9"
/// impossible to name; /proc/self/cmdline still has the bytes, and <see cref="NameEncoding"/>
/// turns them into the escapes the drivers use.
/// </summary>
internal static class RawArguments
{
    /// <summary>
    /// <paramref name="args"/> with each argument that lost bytes to U+FFFD replaced by its
    /// escaped form; unchanged when /proc is missing or does not line up with them.
    /// </summary>
    public static string[] Recover(string[] args)
    {
        if (!args.Any(a => a.Contains('\uFFFD', StringComparison.Ordinal)))
        {
            return args;
        }
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (IOException)
        {
            return args;
        }
        catch (UnauthorizedAccessException)
        {
            return args;
        }
        return Recover(args, cmdline);
    }

    /// <summary>The same with the NUL-separated argv given (the program and host arguments first).</summary>
    internal static string[] Recover(string[] args, ReadOnlySpan<byte> cmdline)
    {
        var raw = new List<byte[]>();
        foreach (Range r in cmdline.TrimEnd((byte)0).Split((byte)0))
        {
            raw.Add(cmdline[r].ToArray());
        }
        // The arguments are argv's last entries (before them: the program, and for
        // "dotnet ukfs.dll" the host's own).
        if (raw.Count < args.Length)
        {
            return args;
        }
        string[] recovered = (string[])args.Clone();
        int first = raw.Count - args.Length;
        for (int i = 0; i < args.Length; i++)
        {
            byte[] bytes = raw[first + i];
            if (Encoding.UTF8.GetString(bytes) != args[i])
            {
                return args;
            }
            recovered[i] = NameEncoding.GetString(bytes);
        }
        return recovered;
    }
}
