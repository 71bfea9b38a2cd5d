using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>One entry of a directory listing with the attributes of the file it names (not followed).</summary>
/// <param name="Name">The entry's name.</param>
/// <param name="Attributes">The attributes of the entry itself (a symbolic link is reported as one).</param>
public sealed record UkfsDirEntry(string Name, VAttr Attributes)
{
    /// <summary>The file type.</summary>
    public VType Type => Attributes.Type;

    /// <summary>
    /// Why the file this entry names could not be looked up or its attributes read (a
    /// damaged image), or null. Only listings that ask for such entries return them; their
    /// <see cref="Attributes"/> then hold only the type and inode number the directory gives.
    /// </summary>
    public UkfsException? Error { get; init; }
}
