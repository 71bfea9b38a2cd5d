namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The directories on the way down a recursive walk, by inode number. A directory is never
/// its own ancestor on a sound file system (directories have one name), so meeting one again
/// means a damaged image: a FAT directory whose start cluster is an ancestor's, or an entry
/// pointing back up. The walk reports it once and does not go in, as fts does for
/// FTS_DC, instead of descending until the path is too long.
/// </summary>
internal sealed class DirectoryCycles
{
    private readonly HashSet<ulong> _path = [];

    /// <summary>Enter the directory <paramref name="ino"/>; false (after one error line) when it is an ancestor.</summary>
    public bool TryEnter(CommandContext ctx, string path, ulong ino)
    {
        if (_path.Add(ino))
        {
            return true;
        }
        ctx.Error(Message(path));
        return false;
    }

    public void Leave(ulong ino) => _path.Remove(ino);

    public static string Message(string path) =>
        $"{path}: directory cycle (it is one of its own parent folders): the image is damaged; not descended (run fsck)";
}
