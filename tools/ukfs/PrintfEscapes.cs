using System.Globalization;
using System.Text;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// printf(1)'s backslash escapes, as stat --printf reads them: \a \b \e \f \n \r \t \v \" \\,
/// up to three octal digits, \x with one or two hex digits. Another letter is printed as it
/// stands with a warning, as stat does.
/// </summary>
internal static class PrintfEscapes
{
    /// <summary>The escape whose letter is at <paramref name="i"/> (just past the backslash) appended; returns where the text goes on.</summary>
    public static int Append(string format, int i, StringBuilder sb, Action<string> warn)
    {
        if (i >= format.Length)
        {
            warn("backslash at end of format");
            sb.Append('\\');
            return i;
        }
        char c = format[i];
        if (c is >= '0' and <= '7')
        {
            return Number(format, i, 3, 8, sb);
        }
        if (c == 'x' && i + 1 < format.Length && char.IsAsciiHexDigit(format[i + 1]))
        {
            return Number(format, i + 1, 2, 16, sb);
        }
        char? simple = c switch
        {
            'a' => '\a',
            'b' => '\b',
            'e' => '\u001b',
            'f' => '\f',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\v',
            '"' => '"',
            '\\' => '\\',
            _ => null,
        };
        if (simple is null)
        {
            warn($"unrecognized escape '\\{c}'");
        }
        sb.Append(simple ?? c);
        return i + 1;
    }

    private static int Number(string format, int i, int most, int radix, StringBuilder sb)
    {
        int start = i;
        int value = 0;
        while (i < format.Length && i - start < most && IsDigit(format[i], radix))
        {
            value = (value * radix) + int.Parse(format.AsSpan(i, 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            i++;
        }
        // One byte: above 0x7F it is written as that byte, as printf writes it (see NameEncoding).
        sb.Append(value < 0x80 ? (char)value : (char)(0xDC00 + (value & 0xFF)));
        return i;
    }

    private static bool IsDigit(char c, int radix) => radix == 8 ? c is >= '0' and <= '7' : char.IsAsciiHexDigit(c);
}
