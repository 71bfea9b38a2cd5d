using System.Text;
using System.Text.Json;
using RumpFs.Kernel;
using RumpFs.Tools.Ukfs.Json;
using RumpFs.Ukfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>getfattr and setfattr: extended attributes in the attr package's text form.</summary>
internal static class XattrCommands
{
    public static int Getfattr(CommandContext ctx, GetfattrOptions o)
    {
        bool follow = !o.NoFollow;
        var json = new List<XattrFileJson>();
        ctx.ForEach(o.Paths, path =>
        {
            IEnumerable<string> names = o.Name is string one ? [one]
                : ctx.Mount.ListXattrs(path, follow).Where(n => o.Pattern?.IsMatch(n) ?? true).Order(StringComparer.Ordinal);
            var values = new List<(string Name, byte[] Value)>();
            foreach (string name in names)
            {
                try
                {
                    values.Add((name, ctx.Mount.GetXattr(path, name, follow)));
                }
                catch (UkfsException e) when (e.Errno == Errno.ENODATA && o.Name is not null)
                {
                    throw new UkfsException(e.Errno, path, $"{path}: {name}: no such attribute");
                }
                catch (UkfsException e) when (e.Errno == Errno.ENODATA)
                {
                    // removed since it was listed
                }
            }
            if (o.Json)
            {
                json.Add(new XattrFileJson(path, [.. values.Select(v => new XattrJson(v.Name, Convert.ToBase64String(v.Value), Text(v.Value)))]));
                return;
            }
            if (values.Count == 0)
            {
                return;
            }
            ctx.Out.WriteLine($"# file: {path}");
            foreach ((string name, byte[] value) in values)
            {
                ctx.Out.WriteLine($"{name}={XattrValues.Encode(value, o.Encoding)}");
            }
            ctx.Out.WriteLine();
        });
        if (o.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(json, UkfsJsonContext.Default.ListXattrFileJson));
        }
        return 0;
    }

    public static int Setfattr(CommandContext ctx, SetfattrOptions o)
    {
        byte[] value = o.DecodedValue;
        bool follow = !o.NoFollow;
        string name = o.Remove ?? o.Name!;
        ctx.ForEach(o.Paths, path =>
        {
            try
            {
                if (o.Remove is not null)
                {
                    ctx.Mount.RemoveXattr(path, name, follow);
                }
                else
                {
                    ctx.Mount.SetXattr(path, name, value, follow);
                }
            }
            catch (UkfsException e) when (e.Path == path)
            {
                throw new UkfsException(e.Errno, path, $"{path}: {name}: {(e.Errno == Errno.ENODATA ? "no such attribute" : e.Errno.Describe())}");
            }
        });
        return 0;
    }

    /// <summary>
    /// The value as text when it is valid UTF-8 without control characters other than white
    /// space (JSON then carries both forms), else null.
    /// </summary>
    private static string? Text(byte[] value)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        return text.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')) ? null : text;
    }
}
