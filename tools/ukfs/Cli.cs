using CommandLine;
using CommandLine.Text;
using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Ukfs.Partitions;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// `ukfs [-t TYPE] [-o OPTIONS] IMAGE[%PART%] COMMAND [ARGS]`: global options and the image
/// first, then a verb parsed by CommandLineParser from <see cref="CommandTable"/>.
/// </summary>
public static class Cli
{
    private const string Usage = "usage: ukfs [-t TYPE] [-o OPTIONS] IMAGE[%MBR:N%|%GPT:N%|%DISKLABEL:x%] COMMAND [ARGS]";

    /// <summary>Opens the mount for a command: the image, a -t type, the options; and whether the command owns (unmounts) it.</summary>
    internal delegate (UkfsMount Mount, bool Owned) Mounter(string? fsType, string image, UkfsOptions options);

    /// <summary>
    /// Run the command line; returns the exit status (0 fine, 1 any error; fsck's own
    /// statuses; <see cref="InternalErrorExit"/> for a fault of ukfs itself).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool progress = false, Stream? binaryOut = null) =>
        Run(args, stdout, stderr, progress, binaryOut, null);

    /// <summary>Run with another way to mount (tests serve the commands from one tmpfs mount).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool progress, Stream? binaryOut, Mounter? mounter,
        Stream? binaryIn = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        KernelLog.MinimumLevel = LogLevel.Warning;
        try
        {
            return RunCore(args, stdout, stderr, progress, binaryOut, mounter, binaryIn);
        }
        catch (UsageException e)
        {
            stderr.WriteLine("ukfs: " + e.Message);
            return 1;
        }
        catch (BrokenPipeException)
        {
            // The reader of standard output went away (`ukfs IMAGE cat BIG | head`): stop
            // quietly with a SIGPIPE death's status, as cat does.
            return BrokenPipeException.ExitStatus;
        }
        catch (UkfsException e)
        {
            stderr.WriteLine("ukfs: " + e.Message);
            return 1;
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException and not ArgumentNullException)
        {
            // A malformed partition selection or host path; the two subtypes are internal guards.
            stderr.WriteLine("ukfs: " + e.Message);
            return 1;
        }
        catch (IOException e)
        {
            stderr.WriteLine("ukfs: " + e.Message);
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            stderr.WriteLine("ukfs: " + e.Message);
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A fault of ukfs itself, not of the image or the user: say so, with the stack, and
            // use a status of its own (sysexits' EX_SOFTWARE) so no script takes it for a user
            // mistake. Catching it here still unmounts the image on the way out.
            stderr.WriteLine($"ukfs: internal error (please report it): {e}");
            return InternalErrorExit;
        }
    }

    /// <summary>The exit status of a fault in ukfs itself (sysexits.h EX_SOFTWARE).</summary>
    public const int InternalErrorExit = 70;

    private static int RunCore(string[] args, TextWriter stdout, TextWriter stderr, bool progress, Stream? binaryOut, Mounter? mounter,
        Stream? binaryIn)
    {
        string? fsType = null;
        string? mountOptions = null;
        int i = 0;
        for (; i < args.Length && args[i].StartsWith('-') && args[i].Length > 1; i++)
        {
            switch (args[i])
            {
                case "-t":
                case "--type":
                    fsType = Next(args, ref i);
                    break;
                case "-o":
                    mountOptions = Next(args, ref i);
                    break;
                case "-h":
                case "--help":
                    WriteHelp(stdout);
                    return 0;
                default:
                    throw new UsageException($"unknown option '{args[i]}' (see ukfs --help)");
            }
        }
        if (i >= args.Length)
        {
            throw new UsageException("missing IMAGE; " + Usage);
        }
        string imageText = args[i++];
        if (i >= args.Length)
        {
            throw new UsageException($"missing COMMAND after {imageText} (commands: {string.Join(' ', CommandTable.All.Select(c => c.Verb))})");
        }
        string verb = args[i];
        CommandSpec spec = CommandTable.Find(verb) ?? throw new UsageException(
            $"unknown command '{verb}' (commands: {string.Join(' ', CommandTable.All.Select(c => c.Verb))})");
        string[] verbArgs = args[i..];
        List<string> chattrModes = [];
        string? chattrProject = null;
        if (spec.OptionsType == typeof(ChattrOptions))
        {
            verbArgs = ChattrOptions.TakeModes(verbArgs, out chattrModes, out chattrProject);
        }
        object? options = ParseVerb(spec, verbArgs, stdout);
        if (options is null)
        {
            return 0; // help was asked for and shown
        }
        if (options is ChattrOptions chattr)
        {
            chattr.Modes = chattrModes;
            chattr.ProjectText = chattrProject;
        }
        (options as IValidatedOptions)?.Validate();
        ImageSpec image = ImageSpec.Parse(imageText);
        Stream raw = binaryOut ?? Console.OpenStandardOutput();
        if (spec.Access == Access.DeviceReadOnly)
        {
            if (mountOptions is not null)
            {
                // probe, fsck and newfs mount nothing: taking -o silently would drop what the user meant.
                throw new UsageException($"{verb}: the -o before the image sets mount options, which {verb} does not use"
                    + (verb == "newfs" ? "; format options go after the command: ukfs IMAGE newfs -o OPTIONS" : ""));
            }
            var ctx = new CommandContext(image, fsType, null, stdout, stderr, raw, progress) { BinaryIn = binaryIn };
            int rc = spec.Run(ctx, options);
            return rc != 0 ? rc : ctx.ExitCode;
        }
        var uo = new UkfsOptions { ReadOnly = spec.Access == Access.MountReadOnly, MountOptions = mountOptions };
        (UkfsMount mount, bool owned) = mounter is null ? (UkfsMount.Open(fsType, imageText, uo), true) : mounter(fsType, imageText, uo);
        try
        {
            var ctx = new CommandContext(image, fsType, mount, stdout, stderr, raw, progress) { BinaryIn = binaryIn };
            int deferredBefore = mount.DeferredErrors;
            int rc = spec.Run(ctx, options);
            if (owned)
            {
                mount.Unmount();
            }
            int deferred = mount.DeferredErrors - deferredBefore;
            if (deferred > 0)
            {
                // The command's own steps succeeded, but releasing what they freed did not: the
                // image now leaks storage, and a script must not take exit 0 for a clean image.
                stderr.WriteLine($"ukfs: {verb}: done, but releasing {deferred} file(s) failed afterwards (see the log above);"
                    + $" check the image with 'ukfs {imageText} fsck'");
                return 1;
            }
            return rc != 0 ? rc : ctx.ExitCode;
        }
        finally
        {
            if (owned)
            {
                mount.Dispose();
            }
        }
    }

    private static string Next(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new UsageException($"option {args[i]} needs a value");
        }
        return args[++i];
    }

    /// <summary>Parse the verb's arguments; null when help was shown. Errors become one line.</summary>
    private static object? ParseVerb(CommandSpec spec, string[] verbArgs, TextWriter stdout)
    {
        using var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseSensitive = true;
            s.AutoVersion = false;
            s.AllowMultiInstance = false;
            s.EnableDashDash = true;
        });
        string[] args = VerbArgumentForms.Rewrite(spec.Verb, verbArgs);
        if (!args.Contains("--help", StringComparer.Ordinal))
        {
            ShortOptionCheck.Check(spec.Verb, spec.OptionsType, args);
        }
        ParserResult<object> result = parser.ParseArguments(args, spec.OptionsType);
        if (result is Parsed<object> parsed)
        {
            return parsed.Value;
        }
        var errors = ((NotParsed<object>)result).Errors.ToList();
        if (errors.Any(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.HelpVerbRequestedError))
        {
            stdout.WriteLine(HelpText.AutoBuild(result, h => h, e => e));
            return null;
        }
        throw new UsageException($"{spec.Verb}: {Describe(errors[0])}");
    }

    private static string Describe(Error e) => e switch
    {
        UnknownOptionError u => $"unknown option '{u.Token}'",
        MissingRequiredOptionError m => m.NameInfo.NameText.Length > 0
            ? $"missing required argument {m.NameInfo.NameText}"
            : "missing required argument",
        MissingValueOptionError m => $"option {m.NameInfo.NameText} needs a value",
        BadFormatConversionError b => $"bad value for {b.NameInfo.NameText}",
        RepeatedOptionError r => $"option {r.NameInfo.NameText} given twice",
        UnknownOptionError or SequenceOutOfRangeError => "wrong number of arguments",
        _ => e.Tag switch
        {
            ErrorType.MissingValueOptionError => "an option needs a value",
            _ => "bad arguments (" + e.Tag + ")",
        },
    };

    private static void WriteHelp(TextWriter w)
    {
        w.WriteLine(Usage);
        w.WriteLine();
        w.WriteLine("Work on a file-system image directly (no FUSE, no root). Commands:");
        foreach (CommandSpec c in CommandTable.All)
        {
            var verb = (VerbAttribute)Attribute.GetCustomAttribute(c.OptionsType, typeof(VerbAttribute))!;
            w.WriteLine($"  {c.Verb,-8} {verb.HelpText}");
        }
        w.WriteLine();
        w.WriteLine("  -t TYPE     file-system type (ffs, ext2fs, msdos); detected when omitted");
        w.WriteLine("  -o OPTIONS  mount options (noatime, cache=SIZE, driver options)");
        w.WriteLine("ls, stat, df, probe, info, getfattr and fsck take --json. 'ukfs IMAGE COMMAND --help' shows a command's options.");
    }
}
