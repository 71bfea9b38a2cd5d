using CommandLine;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

// One options class per verb; CommandTable says what each needs and which code runs it.

/// <summary>
/// Options a verb checks before the image is opened, so that a mistake in them leaves the
/// image as it was (a read-write mount records its mount time).
/// </summary>
internal interface IValidatedOptions
{
    /// <summary>Throw a <see cref="UsageException"/> naming the mistake.</summary>
    void Validate();
}

[Verb("ls", HelpText = "List directories (or show files).")]
internal sealed class LsOptions
{
    [Option('l', HelpText = "Long listing: mode, links, owner, size, time.")] public bool Long { get; set; }
    [Option('R', HelpText = "Recurse into subdirectories.")] public bool Recursive { get; set; }
    [Option('d', HelpText = "List directories themselves, not their contents.")] public bool Directory { get; set; }
    [Option('h', HelpText = "With -l, sizes in K, M, G (powers of 1024, rounded up) as ls -lh.")] public bool Human { get; set; }
    [Option('a', HelpText = "Include . and .. (ignored: never listed).")] public bool All { get; set; }
    [Option("json", HelpText = "JSON output.")] public bool Json { get; set; }
    [Value(0, MetaName = "PATH")] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("cat", HelpText = "Write files to stdout.")]
internal sealed class CatOptions
{
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("get", HelpText = "Copy a file or tree from the image to the host, keeping modes and times.")]
internal sealed class GetOptions
{
    [Value(0, MetaName = "SOURCE", Required = true)] public string Source { get; set; } = "";
    [Value(1, MetaName = "DEST", HelpText = "Host path (default: current folder), or - for standard output (a file only).")] public string? Dest { get; set; }
}

[Verb("put", HelpText = "Copy a file or tree from the host into the image, keeping modes and times ('-' reads standard input into the file DEST).")]
internal sealed class PutOptions
{
    [Value(0, MetaName = "SOURCE", Required = true, HelpText = "Host path, or - for standard input.")] public string Source { get; set; } = "";
    [Value(1, MetaName = "DEST", HelpText = "Image path (default: /).")] public string? Dest { get; set; }
}

[Verb("mkdir", HelpText = "Create directories.")]
internal sealed class MkdirOptions : IValidatedOptions
{
    [Option('p', HelpText = "Create parents; no error if it exists.")] public bool Parents { get; set; }
    [Option('m', HelpText = "Mode (octal, or symbolic as chmod(1), from a=rwx).")] public string? Mode { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate()
    {
        if (Mode is not null)
        {
            ModeChange.Parse(Mode);
        }
    }
}

[Verb("rm", HelpText = "Remove files (and trees with -r).")]
internal sealed class RmOptions
{
    [Option('r', HelpText = "Remove directories and their contents.")] public bool Recursive { get; set; }
    [Option('f', HelpText = "Ignore missing files.")] public bool Force { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("cp", HelpText = "Copy files or trees inside the image, as GNU cp (-r, -p, -a, -P, -L, -n).")]
internal sealed class CpOptions
{
    [Option('r', HelpText = "Copy directories and what they hold; links are copied as links.")] public bool Recursive { get; set; }
    [Option('R', HelpText = "As -r.")] public bool RecursiveR { get; set; }
    [Option('p', HelpText = "Keep mode, owner, times and the POSIX ACL.")] public bool Preserve { get; set; }
    [Option('a', HelpText = "-R -p, hard links kept as links, every extended attribute.")] public bool Archive { get; set; }
    [Option('P', HelpText = "Copy symbolic links as links (what -R does anyway).")] public bool NoDereference { get; set; }
    [Option('L', HelpText = "Follow symbolic links in SOURCE, also below it.")] public bool Dereference { get; set; }
    [Option('n', HelpText = "Do not overwrite an existing file.")] public bool NoClobber { get; set; }
    [Value(0, MetaName = "SOURCE... DEST")] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("mv", HelpText = "Rename or move.")]
internal sealed class MvOptions
{
    [Value(0, MetaName = "SOURCE", Required = true)] public string Source { get; set; } = "";
    [Value(1, MetaName = "DEST", Required = true)] public string Dest { get; set; } = "";
}

[Verb("ln", HelpText = "Make a hard link (or a symbolic link with -s).")]
internal sealed class LnOptions
{
    [Option('s', HelpText = "Symbolic link.")] public bool Symbolic { get; set; }
    [Value(0, MetaName = "TARGET", Required = true)] public string Target { get; set; } = "";
    [Value(1, MetaName = "LINK", Required = true)] public string Link { get; set; } = "";
}

[Verb("chmod", HelpText = "Change permission bits (octal, or symbolic as chmod(1): u+x,go-w).")]
internal sealed class ChmodOptions : IValidatedOptions
{
    [Value(0, MetaName = "MODE", Required = true)] public string Mode { get; set; } = "";
    [Value(1, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate() => ModeChange.Parse(Mode);
}

[Verb("chown", HelpText = "Change owner and group (numeric UID[:GID] or :GID).")]
internal sealed class ChownOptions : IValidatedOptions
{
    [Option('h', HelpText = "Change a symbolic link itself.")] public bool NoFollow { get; set; }
    [Value(0, MetaName = "OWNER", Required = true)] public string Owner { get; set; } = "";
    [Value(1, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate() => Commands.FileCommands.ParseOwner(Owner);
}

[Verb("touch", HelpText = "Create empty files or set their times (to now, or as -d or -r say).")]
internal sealed class TouchOptions : IValidatedOptions
{
    [Option('a', HelpText = "Change only the access time.")] public bool AccessOnly { get; set; }
    [Option('m', HelpText = "Change only the modification time.")] public bool ModificationOnly { get; set; }
    [Option('c', "no-create", HelpText = "Do not create missing files.")] public bool NoCreate { get; set; }
    [Option('d', "date", HelpText = "This time instead of now: seconds since 1970 (@SECONDS) or 2024-01-02T03:04:05Z.")] public string? Date { get; set; }
    [Option('t', HelpText = "This time instead of now, as touch -t: [[CC]YY]MMDDhhmm[.ss] in local time.")] public string? Stamp { get; set; }
    [Option('r', "reference", HelpText = "The times of this file in the image instead of now.")] public string? Reference { get; set; }
    [Option('h', "no-dereference", HelpText = "Change a symbolic link itself.")] public bool NoFollow { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The time -d gives; set by <see cref="Validate"/>.</summary>
    public RumpFs.Kernel.Timespec? Time { get; private set; }

    public void Validate()
    {
        if ((Date is not null ? 1 : 0) + (Stamp is not null ? 1 : 0) + (Reference is not null ? 1 : 0) > 1)
        {
            throw new UsageException("touch: give one of -d, -t and -r");
        }
        Time = Date is not null ? Format.ParseTime(Date, "touch: -d")
            : Stamp is not null ? Format.ParseStamp(Stamp)
            : null;
    }
}

[Verb("truncate", HelpText = "Set the size of files, creating them unless -c (as coreutils truncate -s does).")]
internal sealed class TruncateOptions : IValidatedOptions
{
    [Option('s', "size", Required = true, HelpText = "[+|-]N[K|M|G|T]: the size, or how much to add (+) or take off (-).")] public string SizeText { get; set; } = "";
    [Option('c', "no-create", HelpText = "Do not create missing files.")] public bool NoCreate { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The bytes -s names; set by <see cref="Validate"/>.</summary>
    public long Size { get; private set; }

    /// <summary>+1 to add, -1 to take off, 0 for an absolute size.</summary>
    public int Relative { get; private set; }

    public void Validate()
    {
        string t = SizeText;
        Relative = t.StartsWith('+') ? 1 : t.StartsWith('-') ? -1 : 0;
        if (!MountOptions.TryParseSize(Relative == 0 ? t : t[1..], out long size))
        {
            throw new UsageException($"truncate: bad size '{SizeText}' ([+|-]N with K, M, G or T)");
        }
        Size = size;
    }
}

[Verb("fallocate", HelpText = "Allocate storage, punch a hole or zero a range in a file (as util-linux fallocate does).")]
internal sealed class FallocateOptions : IValidatedOptions
{
    [Option('o', "offset", HelpText = "Where the range starts (N[K|M|G|T]; default 0).")] public string OffsetText { get; set; } = "0";
    [Option('l', "length", Required = true, HelpText = "How long the range is (N[K|M|G|T]).")] public string LengthText { get; set; } = "";
    [Option('k', "keep-size", HelpText = "Leave the size alone (storage past the end: ext4 and tmpfs only).")] public bool KeepSize { get; set; }
    [Option('p', "punch-hole", HelpText = "Free the range's blocks, leaving a hole that reads as zeros (implies -k).")] public bool PunchHole { get; set; }
    [Option('z', "zero-range", HelpText = "Make the range read as zeros, with storage.")] public bool ZeroRange { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public string Path { get; set; } = "";

    public long Offset { get; private set; }

    public long Length { get; private set; }

    public void Validate()
    {
        if (PunchHole && ZeroRange)
        {
            throw new UsageException("fallocate: give -p or -z, not both");
        }
        if (!MountOptions.TryParseSize(OffsetText, out long offset))
        {
            throw new UsageException($"fallocate: bad offset '{OffsetText}'");
        }
        if (!MountOptions.TryParseSize(LengthText, out long length) || length == 0)
        {
            throw new UsageException($"fallocate: bad length '{LengthText}' (more than 0 bytes)");
        }
        (Offset, Length) = (offset, length);
    }
}

[Verb("getfattr", HelpText = "Show extended attributes (all of them, or the one named with -n), as getfattr -d -m - does.")]
internal sealed class GetfattrOptions : IValidatedOptions
{
    [Option('n', HelpText = "Only this attribute (with its name space: user.comment).")] public string? Name { get; set; }
    [Option('e', HelpText = "Value encoding: text, hex or base64 (default: text when printable, else base64).")] public string? Encoding { get; set; }
    [Option('h', HelpText = "Do not follow a final symbolic link.")] public bool NoFollow { get; set; }
    [Option('d', HelpText = "Dump the values (what this command always does; taken for getfattr's command lines).")] public bool Dump { get; set; }
    [Option('m', HelpText = "Only names matching this regular expression; - for every name (the default).")] public string? Match { get; set; }
    [Option("json", HelpText = "JSON output (values in base64).")] public bool Json { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The names -m selects (null: every one); set by <see cref="Validate"/>.</summary>
    public System.Text.RegularExpressions.Regex? Pattern { get; private set; }

    public void Validate()
    {
        if (Encoding is not (null or "text" or "hex" or "base64"))
        {
            throw new UsageException($"getfattr: -e {Encoding}: the encodings are text, hex and base64");
        }
        if (Match is not (null or "-"))
        {
            try
            {
                Pattern = new System.Text.RegularExpressions.Regex(Match, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"getfattr: -m {Match}: not a regular expression ({e.Message})");
            }
        }
    }
}

[Verb("getfacl", HelpText = "Show POSIX ACLs as getfacl -n does (ids are numeric: they name the image's users).")]
internal sealed class GetfaclOptions
{
    [Option('n', HelpText = "Numeric ids (what this command always prints; taken for getfacl's command lines).")] public bool Numeric { get; set; }
    [Option('a', HelpText = "Only the access ACL.")] public bool AccessOnly { get; set; }
    [Option('d', HelpText = "Only the default ACL.")] public bool DefaultOnly { get; set; }
    [Option('c', HelpText = "No header lines (# file, # owner, # group).")] public bool OmitHeader { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("setfacl", HelpText = "Change POSIX ACLs as setfacl does: -m SPEC, -x SPEC, --set SPEC, -b, -k (SPEC: u:1000:rw,g:5:r,d:u:1000:rwx,m::rx).")]
internal sealed class SetfaclOptions : IValidatedOptions
{
    [Option('m', HelpText = "Add or change these entries.")] public string? Modify { get; set; }
    [Option('x', HelpText = "Remove these entries (u:1000, g:5, d:u:1000, m).")] public string? Remove { get; set; }
    [Option("set", HelpText = "Replace the ACL with these entries (user::, group:: and other:: needed).")] public string? Set { get; set; }
    [Option('b', HelpText = "Remove every extended entry and the default ACL.")] public bool RemoveAll { get; set; }
    [Option('k', HelpText = "Remove the default ACL.")] public bool RemoveDefault { get; set; }
    [Option('d', HelpText = "The entries given are for the default ACL.")] public bool Default { get; set; }
    [Option('n', HelpText = "Do not recalculate the mask.")] public bool NoMask { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The entries -m, -x or --set give (parsed by <see cref="Validate"/>), -d applied.</summary>
    public List<AclSpecEntry> Entries { get; private set; } = [];

    public void Validate()
    {
        int specs = (Modify is null ? 0 : 1) + (Remove is null ? 0 : 1) + (Set is null ? 0 : 1);
        if (specs > 1 || (specs == 0 && !RemoveAll && !RemoveDefault))
        {
            throw new UsageException("setfacl: give one of -m SPEC, -x SPEC or --set SPEC, and/or -b or -k");
        }
        if ((Modify ?? Remove ?? Set) is string spec)
        {
            Entries = [.. AclText.ParseSpec(spec, withRights: Remove is null, "setfacl").Select(e => e with { Default = e.Default || Default })];
        }
    }
}

[Verb("setfattr", HelpText = "Set (-n NAME -v VALUE) or remove (-x NAME) an extended attribute, as setfattr does.")]
internal sealed class SetfattrOptions : IValidatedOptions
{
    [Option('n', HelpText = "The attribute to set (with its name space: user.comment).")] public string? Name { get; set; }
    [Option('v', HelpText = "Its value: text, \"quoted text\" (with \\ooo escapes), 0x... hex or 0s... base64 (default: empty).")] public string? Value { get; set; }
    [Option('x', HelpText = "The attribute to remove.")] public string? Remove { get; set; }
    [Option('h', HelpText = "Do not follow a final symbolic link.")] public bool NoFollow { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The value -v gives, decoded (empty without -v); set by <see cref="Validate"/>.</summary>
    public byte[] DecodedValue { get; private set; } = [];

    public void Validate()
    {
        if ((Name is null) == (Remove is null))
        {
            throw new UsageException("setfattr: give either -n NAME [-v VALUE] or -x NAME");
        }
        if (Remove is not null && Value is not null)
        {
            throw new UsageException("setfattr: -v goes with -n, not with -x");
        }
        DecodedValue = Value is null ? [] : XattrValues.Decode(Value);
    }
}

[Verb("lsattr", HelpText = "Show file flags (immutable, append-only, no-dump...), as e2fsprogs lsattr does.")]
internal sealed class LsattrOptions
{
    [Option('d', HelpText = "Show directories themselves, not their contents.")] public bool Directories { get; set; }
    [Option('R', HelpText = "Recurse into subdirectories.")] public bool Recursive { get; set; }
    [Option('a', HelpText = "Include names that start with a dot.")] public bool All { get; set; }
    [Option('p', HelpText = "Show each file's project id too.")] public bool Project { get; set; }
    [Value(0, MetaName = "PATH")] public IEnumerable<string> Paths { get; set; } = [];
}

[Verb("chattr", HelpText = "Change file flags, as e2fsprogs chattr does: +i, -a, =dA (letters of lsattr but E, I, N, V); -p PROJECT sets the project id.")]
internal sealed class ChattrOptions : IValidatedOptions
{
    [Option('R', HelpText = "Recurse into directories (symbolic links are not followed).")] public bool Recursive { get; set; }
    [Option('f', HelpText = "Say nothing about files that fail (the exit status is still 1).")] public bool Quiet { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    /// <summary>The +FLAGS, -FLAGS and =FLAGS arguments, taken out before parsing (see <see cref="TakeModes"/>).</summary>
    public IReadOnlyList<string> Modes { get; set; } = [];

    /// <summary>The PROJECT of "-p PROJECT", taken out with the modes (see <see cref="TakeModes"/>).</summary>
    public string? ProjectText { get; set; }

    /// <summary>The project id to set, or null; set by <see cref="Validate"/>.</summary>
    public uint? Project { get; private set; }

    /// <summary>Flags to add, to remove, or the whole set (=); set by <see cref="Validate"/>.</summary>
    public (FileFlags Add, FileFlags Remove, FileFlags? Exactly) Change { get; private set; }

    /// <summary>
    /// "-i" is a mode to chattr, not an option, which no option parser reads that way; the
    /// modes are taken out of the arguments first (as chattr itself does by hand), and so is
    /// "-p PROJECT", which would otherwise read as the mode "remove flag p". -R and -f stay
    /// options; after "--" everything is a path.
    /// </summary>
    public static string[] TakeModes(string[] verbArgs, out List<string> modes, out string? project)
    {
        modes = [];
        project = null;
        var rest = new List<string>();
        bool pathsOnly = false;
        for (int i = 0; i < verbArgs.Length; i++)
        {
            string arg = verbArgs[i];
            if (!pathsOnly && arg == "-p")
            {
                project = i + 1 < verbArgs.Length ? verbArgs[++i] : throw new UsageException("chattr: -p needs a project id");
                continue;
            }
            // "=" alone clears every flag chattr can set.
            bool mode = !pathsOnly && (arg == "=" || (arg.Length > 1 && arg[0] is '+' or '-' or '='
                && arg[1..].All(char.IsAsciiLetter) && arg is not ("-R" or "-f")));
            pathsOnly |= arg == "--";
            (mode ? modes : rest).Add(arg);
        }
        return [.. rest];
    }

    public void Validate()
    {
        if (Modes.Count == 0 && ProjectText is null)
        {
            throw new UsageException("chattr: give a mode (+FLAGS, -FLAGS or =FLAGS) or -p PROJECT before the paths");
        }
        if (ProjectText is not null)
        {
            Project = ParseProject(ProjectText) ?? throw new UsageException($"chattr: bad project - {ProjectText}");
        }
        FileFlags add = FileFlags.None, remove = FileFlags.None;
        FileFlags? exactly = null;
        foreach (string mode in Modes)
        {
            FileFlags flags = FileFlags.None;
            foreach (char letter in mode[1..])
            {
                flags |= FileFlagLetters.Settable(letter) ?? throw new UsageException($"chattr: bad flag '{letter}' in {mode}");
            }
            switch (mode[0])
            {
                case '+': add |= flags; break;
                case '-': remove |= flags; break;
                default: exactly = (exactly ?? FileFlags.None) | flags; break;
            }
        }
        if (exactly is not null && (add | remove) != FileFlags.None)
        {
            throw new UsageException("chattr: = cannot go with + or -");
        }
        Change = (add, remove, exactly);
    }

    /// <summary>A project id as chattr reads it (strtol base 0: 0x hexadecimal, a leading 0 octal); null when it is none.</summary>
    private static uint? ParseProject(string text)
    {
        (string digits, int radix) = text switch
        {
            ['0', 'x' or 'X', .. var hex] => (hex, 16),
            ['0', _, ..] => (text[1..], 8),
            _ => (text, 10),
        };
        if (digits.Length == 0 || !digits.All(char.IsAsciiHexDigit))
        {
            return null;
        }
        try
        {
            ulong value = Convert.ToUInt64(digits, radix);
            return value <= uint.MaxValue ? (uint)value : null;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return null;
        }
    }
}

[Verb("stat", HelpText = "Show attributes.")]
internal sealed class StatOptions : IValidatedOptions
{
    [Option('L', HelpText = "Follow a final symbolic link.")] public bool Follow { get; set; }
    [Option('c', "format", HelpText = "Print FORMAT and a newline for each file, as GNU stat -c (%n %s %a %A %u %g %i %h %y %Y ...).")] public string? Format { get; set; }
    [Option("printf", HelpText = "As -c, with backslash escapes and no newline added.")] public string? Printf { get; set; }
    [Option('t', "terse", HelpText = "One line per file, as GNU stat --terse.")] public bool Terse { get; set; }
    [Option("json", HelpText = "JSON output.")] public bool Json { get; set; }
    [Value(0, MetaName = "PATH", Required = true)] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate()
    {
        int forms = (Format is null ? 0 : 1) + (Printf is null ? 0 : 1) + (Terse ? 1 : 0) + (Json ? 1 : 0);
        if (forms > 1)
        {
            throw new UsageException("stat: take one of -c, --printf, --terse and --json");
        }
        if ((Format ?? Printf) is string format)
        {
            StatFormat.Validate(format, escapes: Printf is not null);
        }
    }
}

[Verb("df", HelpText = "Show space and inode use.")]
internal sealed class DfOptions
{
    [Option('h', HelpText = "Sizes in K, M, G (powers of 1024, rounded up) as df -h.")] public bool Human { get; set; }
    [Option("json", HelpText = "JSON output.")] public bool Json { get; set; }
}

[Verb("tree", HelpText = "Show a directory tree, as tree --charset=ascii.")]
internal sealed class TreeOptions : IValidatedOptions
{
    [Option('a', HelpText = "Show names starting with '.' too.")] public bool All { get; set; }
    [Option('d', HelpText = "Directories only.")] public bool DirectoriesOnly { get; set; }
    [Option('L', HelpText = "Descend at most LEVEL directories deep.")] public int? Level { get; set; }
    [Value(0, MetaName = "PATH")] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate()
    {
        if (Level is < 1)
        {
            throw new UsageException("tree: Invalid level, must be greater than 0.");
        }
    }
}

[Verb("du", HelpText = "Space used by directories and what they hold, as du (1024-byte blocks).")]
internal sealed class DuOptions : IValidatedOptions
{
    [Option('a', HelpText = "Files as well as directories.")] public bool All { get; set; }
    [Option('s', HelpText = "Only a total for each PATH.")] public bool Summarize { get; set; }
    [Option('c', HelpText = "A grand total at the end.")] public bool Total { get; set; }
    [Option('d', "max-depth", HelpText = "Show directories N or fewer levels below PATH.")] public int? MaxDepth { get; set; }
    [Option('h', HelpText = "Sizes in K, M, G (powers of 1024, rounded up).")] public bool Human { get; set; }
    [Option('b', HelpText = "Apparent sizes in bytes (--apparent-size in units of 1).")] public bool Bytes { get; set; }
    [Option("apparent-size", HelpText = "Sizes of the files, not the storage they take.")] public bool Apparent { get; set; }
    [Option('k', HelpText = "1024-byte blocks (what is shown anyway).")] public bool Kibibytes { get; set; }
    [Value(0, MetaName = "PATH")] public IEnumerable<string> Paths { get; set; } = [];

    public void Validate()
    {
        if (Summarize && All)
        {
            throw new UsageException("du: cannot both summarize and show all entries");
        }
        if (MaxDepth < 0)
        {
            throw new UsageException($"du: invalid maximum depth '{MaxDepth}'");
        }
        if (Summarize && MaxDepth is > 0)
        {
            throw new UsageException($"du: summarizing conflicts with --max-depth={MaxDepth}");
        }
    }
}

[Verb("find", HelpText = "Find files by name, type and size.")]
internal sealed class FindOptions
{
    [Option("name", HelpText = "Shell pattern for the name (*, ?, [..]).")] public string? Name { get; set; }
    [Option("type", HelpText = "f, d, l, c, b, p or s.")] public string? Type { get; set; }
    [Option("size", HelpText = "[+|-]N[c|k|M|G]: bigger (+), smaller (-) or exactly; c = bytes, no suffix = 512-byte blocks.")] public string? Size { get; set; }
    [Value(0, MetaName = "PATH")] public string? Path { get; set; }
}

[Verb("probe", HelpText = "List partitions and the file-system type found on each.")]
internal sealed class ProbeOptions
{
    [Option("json", HelpText = "JSON output.")] public bool Json { get; set; }
}

[Verb("info", HelpText = "Superblock summary.")]
internal sealed class InfoOptions
{
    [Option("json", HelpText = "JSON output.")] public bool Json { get; set; }
}
