using System.Text;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// A name quoted as coreutils quotes it for the shell (stat's %N, ls --quoting-style=
/// shell-escape-always): in single quotes; in double quotes when it holds a single quote and
/// nothing a double quote would expand; other single quotes as '\''; a character that is
/// not printable, or a byte that is not UTF-8, as $'\n' or $'\377' outside the quotes.
/// </summary>
internal static class ShellQuote
{
    public static string Quote(string name)
    {
        if (name.Contains('\'', StringComparison.Ordinal) && name.All(c => IsPrintable(c) && "\"$`\\!".IndexOf(c, StringComparison.Ordinal) < 0))
        {
            return "\"" + name + "\"";
        }
        var sb = new StringBuilder("'");
        bool inEscapes = false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]);
            if (pair || IsPrintable(c))
            {
                if (inEscapes)
                {
                    sb.Append("''");
                    inEscapes = false;
                }
                sb.Append(c == '\'' ? "'\\''" : c.ToString());
                if (pair)
                {
                    sb.Append(name[++i]);
                }
                continue;
            }
            if (!inEscapes)
            {
                sb.Append("'$'");
                inEscapes = true;
            }
            foreach (byte b in NameEncoding.GetBytes(c.ToString()))
            {
                sb.Append(Escape(b));
            }
        }
        return sb.Append('\'').ToString();
    }

    private static bool IsPrintable(char c) =>
        !char.IsControl(c) && !(c is >= '\uDC80' and <= '\uDCFF') && !char.IsSurrogate(c);

    private static string Escape(byte b) => b switch
    {
        0x07 => "\\a",
        0x08 => "\\b",
        0x09 => "\\t",
        0x0A => "\\n",
        0x0B => "\\v",
        0x0C => "\\f",
        0x0D => "\\r",
        _ => "\\" + Convert.ToString(b, 8).PadLeft(3, '0'),
    };
}
