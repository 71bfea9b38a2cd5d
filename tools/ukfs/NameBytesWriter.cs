using System.Text;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Standard output and error as bytes: text is UTF-8, and a name's escaped bytes (see
/// <see cref="NameEncoding"/>) are written as those bytes, as ls and find write names into
/// a pipe. Console.Out would write U+FFFD in their place.
/// </summary>
internal sealed class NameBytesWriter(Stream stream, bool flushEachWrite) : TextWriter
{
    private const int FlushAt = 8192;
    private static readonly UTF8Encoding s_utf8 = new(false);
    private readonly StringBuilder _pending = new();

    public override Encoding Encoding => s_utf8;

    public override void Write(char value)
    {
        _pending.Append(value);
        Written();
    }

    public override void Write(string? value)
    {
        _pending.Append(value);
        Written();
    }

    public override void Write(char[] buffer, int index, int count)
    {
        _pending.Append(buffer, index, count);
        Written();
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        _pending.Append(buffer);
        Written();
    }

    public override void WriteLine(string? value)
    {
        _pending.Append(value).Append(CoreNewLine);
        Written();
    }

    public override void Flush()
    {
        WritePending();
        stream.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }
        base.Dispose(disposing);
    }

    private void Written()
    {
        if (flushEachWrite || _pending.Length >= FlushAt)
        {
            WritePending();
            if (flushEachWrite)
            {
                stream.Flush();
            }
        }
    }

    // Writes what is pending except a final high surrogate, whose pair may come next.
    private void WritePending()
    {
        int n = _pending.Length;
        if (n > 0 && char.IsHighSurrogate(_pending[n - 1]))
        {
            n--;
        }
        if (n == 0)
        {
            return;
        }
        string text = _pending.ToString(0, n);
        _pending.Remove(0, n);
        stream.Write(NameEncoding.GetBytes(text));
    }
}
