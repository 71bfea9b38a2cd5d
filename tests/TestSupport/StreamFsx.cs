using Xunit;

namespace RumpFs.TestSupport;

/// <summary>
/// The model side of an fsx-style test over a <see cref="Stream"/>: one random write, read,
/// truncate or sync per <see cref="Step"/>, every read checked against an in-memory copy of
/// the file. Front ends (FUSE, Ukfs) supply the stream and what "sync" and "remount" mean.
/// RUMPFS_FSX_OPS sets the number of steps, RUMPFS_FSX_SEED repeats a run.
/// </summary>
public sealed class StreamFsx
{
    private readonly byte[] _model;
    private int _size;

    public StreamFsx(int maxSize = 2 << 20)
    {
        _model = new byte[maxSize];
        Seed = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_SEED"), out int s) ? s : Environment.TickCount;
        Operations = int.TryParse(Environment.GetEnvironmentVariable("RUMPFS_FSX_OPS"), out int n) ? n : 600;
        Rng = new Random(Seed);
    }

    public int Seed { get; }

    public int Operations { get; }

    /// <summary>The generator of every choice (tests use it for their remount decisions too).</summary>
    public Random Rng { get; }

    /// <summary>One random operation on <paramref name="f"/>; <paramref name="sync"/> makes it durable.</summary>
    public void Step(Stream f, Action<Stream> sync, int step)
    {
        string where = $"seed {Seed}, step {step}";
        int max = _model.Length;
        switch (Rng.Next(10))
        {
            case < 4:
                {
                    int offset = Rng.Next(max - 1);
                    int length = Math.Min(Rng.Next(1, 100_000), max - offset);
                    byte[] data = new byte[length];
                    Rng.NextBytes(data);
                    f.Position = offset;
                    f.Write(data);
                    data.CopyTo(_model, offset);
                    _size = Math.Max(_size, offset + length);
                    break;
                }
            case < 7:
                {
                    int offset = Rng.Next(_size + 1);
                    byte[] got = new byte[Rng.Next(1, 100_000)];
                    f.Position = offset;
                    int read = f.ReadAtLeast(got, got.Length, throwOnEndOfStream: false);
                    Assert.True(read == Math.Min(got.Length, _size - offset), $"{where}: read {read} at {offset}, size {_size}");
                    Assert.True(got.AsSpan(0, read).SequenceEqual(_model.AsSpan(offset, read)), $"{where}: data differs at {offset}");
                    break;
                }
            case 7:
                {
                    int newSize = Rng.Next(3) == 0 ? 0 : Rng.Next(max);
                    f.SetLength(newSize);
                    if (newSize < _size)
                    {
                        Array.Clear(_model, newSize, _size - newSize);
                    }
                    _size = newSize;
                    break;
                }
            case 8:
                sync(f);
                break;
            default:
                break;
        }
    }

    /// <summary>Compare the whole file, read back in one piece, with the model.</summary>
    public void VerifyWhole(byte[] all)
    {
        Assert.True(all.Length == _size, $"seed {Seed}: final size {all.Length}, model {_size}");
        Assert.True(all.AsSpan().SequenceEqual(_model.AsSpan(0, _size)), $"seed {Seed}: final content differs");
    }
}
