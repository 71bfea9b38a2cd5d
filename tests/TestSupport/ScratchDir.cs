namespace RumpFs.TestSupport;

/// <summary>A temporary folder removed on dispose.</summary>
public sealed class ScratchDir : IDisposable
{
    public ScratchDir(string prefix = "rumpfs-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        // .NET reads host names as UTF-8, so a tree holding names that are not UTF-8
        // (the tests of such names make them) cannot be walked by Directory.Delete.
        // rm works on the bytes.
        if (System.IO.Directory.Exists(Path))
        {
            OracleTool.Run("rm", "-rf", "--one-file-system", "--", Path);
        }
    }
}
