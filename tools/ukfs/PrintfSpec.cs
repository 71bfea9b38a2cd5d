using System.Globalization;
using System.Text;
using RumpFs.Kernel;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The flags, width and precision of one printf-style directive (stat -c, find -printf), and
/// how C's printf lays out a string, a number or a time with them.
/// </summary>
/// <param name="Flags">Any of "-+ #0'" in the order given.</param>
/// <param name="Width">The minimum width, if one was given.</param>
/// <param name="Precision">The digits after '.', if a '.' was given (0 for a bare '.').</param>
/// <param name="BareDot">A '.' with no digits: a string prints empty, a time gets nine digits, as stat does.</param>
internal readonly record struct PrintfSpec(string Flags, int? Width, int? Precision, bool BareDot = false)
{
    private bool LeftJustify => Flags.Contains('-', StringComparison.Ordinal);
    private bool ZeroPad => Flags.Contains('0', StringComparison.Ordinal) && !LeftJustify;
    private bool Alternate => Flags.Contains('#', StringComparison.Ordinal);

    /// <summary>%s: cut to the precision, padded with spaces to the width.</summary>
    public string Text(string value)
    {
        if (Precision is int p && p < value.Length)
        {
            value = value[..p];
        }
        return Pad(value, "", zeroAllowed: false);
    }

    /// <summary>%u, %o or %x (by <paramref name="radix"/>): '#' adds "0" or "0x", precision is the fewest digits.</summary>
    public string Unsigned(ulong value, int radix)
    {
        string digits = radix switch
        {
            8 => Convert.ToString((long)value, 8),
            16 => value.ToString("x", CultureInfo.InvariantCulture),
            _ => value.ToString(CultureInfo.InvariantCulture),
        };
        digits = WithPrecision(digits, value == 0);
        string prefix = "";
        if (Alternate && radix == 8 && !digits.StartsWith('0'))
        {
            digits = "0" + digits;
        }
        else if (Alternate && radix == 16 && value != 0)
        {
            prefix = "0x";
        }
        return Pad(digits, prefix, zeroAllowed: Precision is null);
    }

    /// <summary>%d: a sign from '+' or ' ' as well.</summary>
    public string Signed(long value)
    {
        string digits = WithPrecision(value == long.MinValue ? "9223372036854775808"
            : Math.Abs(value).ToString(CultureInfo.InvariantCulture), value == 0);
        return Pad(digits, Sign(value < 0), zeroAllowed: Precision is null);
    }

    /// <summary>
    /// Seconds since 1970 as stat's %Y: with a precision, a '.' and that many digits of the
    /// nanoseconds (cut, not rounded; nine for a bare '.', zeros past nine), the width
    /// counting the whole.
    /// </summary>
    public string Epoch(Timespec t)
    {
        int digits = BareDot ? 9 : Precision ?? 0;
        if (digits == 0)
        {
            return (this with { Precision = null }).Signed(t.Seconds);
        }
        bool negative = t.Seconds < 0;
        long whole = t.Seconds;
        long nanos = t.Nanoseconds;
        if (negative && nanos > 0)
        {
            // -1.5 s is stored as -2 s + 0.5 s.
            whole++;
            nanos = 1_000_000_000 - nanos;
        }
        string fraction = nanos.ToString("D9", CultureInfo.InvariantCulture);
        fraction = digits <= 9 ? fraction[..digits] : fraction + new string('0', digits - 9);
        string number = Math.Abs(whole).ToString(CultureInfo.InvariantCulture) + "." + fraction;
        return (this with { Precision = null }).Pad(number, Sign(negative), zeroAllowed: true);
    }

    private string Sign(bool negative) =>
        negative ? "-" : Flags.Contains('+', StringComparison.Ordinal) ? "+" : Flags.Contains(' ', StringComparison.Ordinal) ? " " : "";

    /// <summary>C's rule: the precision is the fewest digits, and a zero with precision 0 prints none.</summary>
    private string WithPrecision(string digits, bool zero) => Precision switch
    {
        null => digits,
        0 when zero => "",
        int p => digits.PadLeft(p, '0'),
    };

    private string Pad(string body, string prefix, bool zeroAllowed)
    {
        int width = Width ?? 0;
        int fill = width - body.Length - prefix.Length;
        if (fill <= 0)
        {
            return prefix + body;
        }
        var sb = new StringBuilder(width);
        if (LeftJustify)
        {
            return sb.Append(prefix).Append(body).Append(' ', fill).ToString();
        }
        if (ZeroPad && zeroAllowed)
        {
            return sb.Append(prefix).Append('0', fill).Append(body).ToString();
        }
        return sb.Append(' ', fill).Append(prefix).Append(body).ToString();
    }
}
