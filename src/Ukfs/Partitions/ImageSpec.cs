using System.Text.RegularExpressions;

namespace RumpFs.Ukfs.Partitions;

/// <summary>
/// An image name with an optional partition selection in the rump syntax:
/// <c>disk.img</c>, <c>disk.img%MBR:2%</c>, <c>disk.img%GPT:3%</c>, <c>disk.img%DISKLABEL:e%</c>.
/// </summary>
/// <param name="Path">The image file or block device.</param>
/// <param name="Scheme">The table to select from, or null for the whole image.</param>
/// <param name="Index">The partition's name in that table ("2", "e"), or null.</param>
public sealed partial record ImageSpec(string Path, PartitionScheme? Scheme, string? Index)
{
    [GeneratedRegex(@"^(?<path>.+)%(?<scheme>[A-Za-z]+):(?<index>[^%]*)%$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>
    /// Split <paramref name="text"/>. A name that exists as a file as written is taken whole,
    /// so an image whose own name ends in "%...%" still opens.
    /// </summary>
    /// <exception cref="ArgumentException">The selection names an unknown table or a malformed index.</exception>
    public static ImageSpec Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        Match m = Pattern().Match(text);
        if (!m.Success || File.Exists(text))
        {
            return new ImageSpec(text, null, null);
        }
        string scheme = m.Groups["scheme"].Value.ToUpperInvariant();
        string index = m.Groups["index"].Value;
        PartitionScheme s = scheme switch
        {
            "MBR" => PartitionScheme.Mbr,
            "GPT" => PartitionScheme.Gpt,
            "DISKLABEL" => PartitionScheme.Disklabel,
            _ => throw new ArgumentException($"unknown partition table '{m.Groups["scheme"].Value}' (expected MBR, GPT or DISKLABEL)"),
        };
        bool valid = s == PartitionScheme.Disklabel
            ? index.Length == 1 && index[0] is >= 'a' and <= 'v'
            : int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1;
        if (!valid)
        {
            throw new ArgumentException(s == PartitionScheme.Disklabel
                ? $"bad disklabel partition '{index}' (expected a letter a..v)"
                : $"bad {scheme} partition number '{index}' (expected 1, 2, ...)");
        }
        return new ImageSpec(m.Groups["path"].Value, s, index);
    }

    /// <summary>The selection as written, e.g. "disk.img%MBR:2%".</summary>
    public override string ToString() =>
        Scheme is PartitionScheme s ? $"{Path}%{PartitionInfo.SchemeName(s)}:{Index}%" : Path;
}
