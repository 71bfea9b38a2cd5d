namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>
/// The contents of a regular file: fixed-size pages keyed by page index, so holes cost no
/// memory and read as zeros. Not thread-safe: the owning vnode's lock guards it.
/// </summary>
internal sealed class TmpfsFileData
{
    public const int PageSize = 4096;

    private readonly Dictionary<long, byte[]> _pages = [];

    public long Size { get; private set; }

    /// <summary>Pages holding data (each <see cref="PageSize"/> bytes of accounted storage).</summary>
    public long PageCount => _pages.Count;

    public int Read(long offset, Span<byte> buffer)
    {
        if (offset >= Size)
        {
            return 0;
        }
        int count = (int)Math.Min(buffer.Length, Size - offset);
        int done = 0;
        while (done < count)
        {
            long pos = offset + done;
            long index = pos / PageSize;
            int inPage = (int)(pos % PageSize);
            int n = Math.Min(PageSize - inPage, count - done);
            if (_pages.TryGetValue(index, out byte[]? page))
            {
                page.AsSpan(inPage, n).CopyTo(buffer.Slice(done, n));
            }
            else
            {
                buffer.Slice(done, n).Clear();
            }
            done += n;
        }
        return count;
    }

    /// <summary>Pages a write of <paramref name="length"/> bytes at <paramref name="offset"/> would add.</summary>
    public long PagesNeeded(long offset, long length)
    {
        if (length <= 0)
        {
            return 0;
        }
        long first = offset / PageSize;
        long last = (offset + length - 1) / PageSize;
        long needed = 0;
        for (long i = first; i <= last; i++)
        {
            if (!_pages.ContainsKey(i))
            {
                needed++;
            }
        }
        return needed;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            long pos = offset + done;
            long index = pos / PageSize;
            int inPage = (int)(pos % PageSize);
            int n = Math.Min(PageSize - inPage, data.Length - done);
            if (!_pages.TryGetValue(index, out byte[]? page))
            {
                page = new byte[PageSize];
                _pages[index] = page;
            }
            data.Slice(done, n).CopyTo(page.AsSpan(inPage, n));
            done += n;
        }
        Size = Math.Max(Size, offset + data.Length);
    }

    /// <summary>Set the size; pages past the new end are freed and the tail of the last one zeroed.</summary>
    public void Truncate(long newSize)
    {
        if (newSize < Size)
        {
            long keepPages = (newSize + PageSize - 1) / PageSize;
            foreach (long index in _pages.Keys.Where(k => k >= keepPages).ToList())
            {
                _pages.Remove(index);
            }
            int tail = (int)(newSize % PageSize);
            if (tail != 0 && _pages.TryGetValue(newSize / PageSize, out byte[]? last))
            {
                last.AsSpan(tail).Clear();
            }
        }
        Size = newSize;
    }

    /// <summary>
    /// Allocate pages for [offset, offset+length) without changing their contents; the size
    /// grows to cover them unless <paramref name="keepSize"/>.
    /// </summary>
    public void Preallocate(long offset, long length, bool keepSize = false)
    {
        for (long i = offset / PageSize; i <= (offset + length - 1) / PageSize; i++)
        {
            if (!_pages.ContainsKey(i))
            {
                _pages[i] = new byte[PageSize];
            }
        }
        if (!keepSize)
        {
            Size = Math.Max(Size, offset + length);
        }
    }

    /// <summary>
    /// Zero [offset, offset+length): pages wholly inside go (a hole), the parts of the pages
    /// at its edges are cleared. The size stays. Returns how many pages went.
    /// </summary>
    public long PunchHole(long offset, long length)
    {
        long end = offset + length;
        long firstWhole = (offset + PageSize - 1) / PageSize;
        long endWhole = end / PageSize;
        List<long> inside = [.. _pages.Keys.Where(k => k >= firstWhole && k < endWhole)];
        foreach (long index in inside)
        {
            _pages.Remove(index);
        }
        ClearInPage(offset, Math.Min(end, firstWhole * PageSize));
        ClearInPage(Math.Max(offset, endWhole * PageSize), end);
        return inside.Count;
    }

    private void ClearInPage(long from, long to)
    {
        if (from < to && _pages.TryGetValue(from / PageSize, out byte[]? page))
        {
            page.AsSpan((int)(from % PageSize), (int)(to - from)).Clear();
        }
    }

    /// <summary>SEEK_DATA: the first offset at or after <paramref name="offset"/> inside an allocated page; -1 if none.</summary>
    public long NextData(long offset)
    {
        long best = -1;
        long first = offset / PageSize;
        foreach (long index in _pages.Keys)
        {
            if (index >= first && (best < 0 || index < best))
            {
                best = index;
            }
        }
        if (best < 0)
        {
            return -1;
        }
        long start = Math.Max(offset, best * PageSize);
        return start < Size ? start : -1;
    }

    /// <summary>SEEK_HOLE: the first offset at or after <paramref name="offset"/> not in an allocated page, or the size.</summary>
    public long NextHole(long offset)
    {
        long index = offset / PageSize;
        while (index * PageSize < Size && _pages.ContainsKey(index))
        {
            index++;
        }
        return Math.Min(Math.Max(offset, index * PageSize), Size);
    }

    public void Clear()
    {
        _pages.Clear();
        Size = 0;
    }
}
