using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The letters of lsattr and chattr (e2fsprogs): lsattr shows every known flag in this
/// order as a letter or '-'; chattr takes the letters it can set (not E, I, N or V, which
/// describe what a file is rather than what it may do).
/// </summary>
internal static class FileFlagLetters
{
    private static readonly (FileFlags Flag, char Letter)[] Shown =
    [
        (FileFlags.SecureDelete, 's'), (FileFlags.Undelete, 'u'), (FileFlags.Sync, 'S'), (FileFlags.DirSync, 'D'),
        (FileFlags.Immutable, 'i'), (FileFlags.AppendOnly, 'a'), (FileFlags.NoDump, 'd'), (FileFlags.NoAtime, 'A'),
        (FileFlags.Compress, 'c'), (FileFlags.Encrypted, 'E'), (FileFlags.JournalData, 'j'), (FileFlags.Indexed, 'I'),
        (FileFlags.NoTailMerge, 't'), (FileFlags.TopDir, 'T'), (FileFlags.Extents, 'e'), (FileFlags.NoCow, 'C'),
        (FileFlags.Dax, 'x'), (FileFlags.Casefold, 'F'), (FileFlags.InlineData, 'N'), (FileFlags.ProjectInherit, 'P'),
        (FileFlags.Verity, 'V'), (FileFlags.NoCompress, 'm'),
    ];

    private const string ReadOnlyLetters = "EINV";

    /// <summary>lsattr's column: "----i---------e-------".</summary>
    public static string Format(FileFlags flags) =>
        new([.. Shown.Select(s => (flags & s.Flag) != 0 ? s.Letter : '-')]);

    /// <summary>The flag chattr sets for <paramref name="letter"/>, or null when it sets none.</summary>
    public static FileFlags? Settable(char letter)
    {
        if (ReadOnlyLetters.Contains(letter, StringComparison.Ordinal))
        {
            return null;
        }
        foreach ((FileFlags flag, char l) in Shown)
        {
            if (l == letter)
            {
                return flag;
            }
        }
        return null;
    }
}
