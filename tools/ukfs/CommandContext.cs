using RumpFs.Ukfs;
using RumpFs.Ukfs.Partitions;

namespace RumpFs.Tools.Ukfs;

/// <summary>A mistake of the user (bad argument, wrong path kind): one line on stderr, exit 1.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>What a running command works with: the mount (or the image), the output streams.</summary>
internal sealed class CommandContext
{
    public CommandContext(ImageSpec image, string? fsType, UkfsMount? mount, TextWriter stdout, TextWriter stderr,
        Stream binaryOut, bool progress)
    {
        Image = image;
        FsType = fsType;
        MountOrNull = mount;
        Out = stdout;
        Err = stderr;
        BinaryOut = binaryOut;
        Progress = progress;
    }

    public ImageSpec Image { get; }

    /// <summary>The type given with -t, or null.</summary>
    public string? FsType { get; }

    public UkfsMount? MountOrNull { get; }

    public UkfsMount Mount => MountOrNull ?? throw new InvalidOperationException("command runs without a mount");

    public TextWriter Out { get; }
    public TextWriter Err { get; }

    /// <summary>stdout as bytes (cat).</summary>
    public Stream BinaryOut { get; }

    /// <summary>stdin as bytes (put -): the process's own unless a test hands one in.</summary>
    public Stream? BinaryIn { get; init; }

    public Stream OpenInput() => BinaryIn ?? Console.OpenStandardInput();

    /// <summary>Show progress of long copies on stderr (it is a terminal).</summary>
    public bool Progress { get; }

    /// <summary>Set when a command reported an error for one argument and went on.</summary>
    public bool HadErrors { get; private set; }

    /// <summary>Report a problem with one argument and carry on; the exit status becomes 1.</summary>
    public void Error(string message)
    {
        Err.WriteLine("ukfs: " + message);
        HadErrors = true;
    }

    /// <summary>
    /// The entries of directory <paramref name="dir"/> in name order, with one error reported
    /// for each whose file cannot be read (a damaged image) and the rest kept: ls, find and
    /// cp -r go on past a name they cannot stat. With <paramref name="keepUnreadable"/> those
    /// entries stay in the list (with their <see cref="UkfsDirEntry.Error"/>) for commands that
    /// still show the name.
    /// </summary>
    public IReadOnlyList<UkfsDirEntry> ListDirectory(string dir, bool keepUnreadable = false)
    {
        var entries = new List<UkfsDirEntry>();
        foreach (UkfsDirEntry e in Mount.ReadDirectory(dir, includeUnreadable: true).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (e.Error is not null)
            {
                Error(e.Error.Message);
                if (!keepUnreadable)
                {
                    continue;
                }
            }
            entries.Add(e);
        }
        return entries;
    }

    /// <summary>Count a failure without a message (chattr -f); the exit status becomes 1.</summary>
    public void FailSilently() => HadErrors = true;

    /// <summary>Report something skipped; the exit status stays 0.</summary>
    public void Warn(string message) => Err.WriteLine("ukfs: warning: " + message);

    /// <summary>Warn about <paramref name="key"/> the first time only (a format that cannot store owners says so once, not per file).</summary>
    public void WarnOnce(string key, string message)
    {
        if (_warned.Add(key))
        {
            Warn(message);
        }
    }

    private readonly HashSet<string> _warned = [];

    /// <summary>Run <paramref name="action"/> for one argument; a UkfsException is reported and the next one runs.</summary>
    public void ForEach(IEnumerable<string> items, Action<string> action)
    {
        foreach (string item in items)
        {
            try
            {
                action(item);
            }
            catch (UkfsException e)
            {
                Error(e.Message);
            }
        }
    }

    public int ExitCode => HadErrors ? 1 : 0;
}
