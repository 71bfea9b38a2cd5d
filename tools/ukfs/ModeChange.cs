namespace RumpFs.Tools.Ukfs;

/// <summary>
/// A mode as chmod(1) takes it: octal ("0644") or symbolic ("u+x,go-w", "a=r", "+X", "g=u",
/// "o+t"). The rules are POSIX chmod's as GNU coreutils applies them: a clause without u,
/// g, o or a acts on all three but leaves the bits set in the umask alone, X gives execute
/// only to a directory or to a file that some class may already execute, and a directory
/// keeps its setuid and setgid bits unless the mode names them (an octal mode of fewer
/// than five digits names them only when it sets them: "755" keeps them, "00755" clears).
/// </summary>
internal sealed class ModeChange
{
    private const uint SetUid = 0x800, SetGid = 0x400, Sticky = 0x200;
    private const uint UserBits = SetUid | 0x1C0, GroupBits = SetGid | 0x038, OtherBits = Sticky | 0x007;
    private const uint AllBits = 0xFFF;
    private const uint Read = 0x124, Write = 0x092, Execute = 0x049;

    /// <summary>How a clause's value is formed: as written, copied from a class, or X.</summary>
    private enum ValueKind
    {
        Literal,
        CopyClass,
        ExecuteIfAny,
    }

    private readonly record struct Clause(char Op, uint Who, uint Value, ValueKind Kind, uint Mentioned);

    private readonly List<Clause> _clauses = [];

    /// <summary>Parse <paramref name="text"/>; a usage error names what is wrong with it.</summary>
    public static ModeChange Parse(string text)
    {
        var change = new ModeChange();
        if (text.Length > 0 && text.All(c => c is >= '0' and <= '7'))
        {
            uint mode = text.Length <= 5 ? Convert.ToUInt32(text, 8) : uint.MaxValue;
            if (mode > AllBits)
            {
                throw Bad(text);
            }
            uint mentioned = text.Length < 5 ? (mode & (SetUid | SetGid)) | Sticky | 0x1FF : AllBits;
            change._clauses.Add(new Clause('=', AllBits, mode, ValueKind.Literal, mentioned));
            return change;
        }
        foreach (string clause in text.Split(','))
        {
            change.ParseClause(text, clause);
        }
        return change;
    }

    /// <summary>The umask of this process (Linux's /proc/self/status), 022 when it cannot be read.</summary>
    public static uint ProcessUmask()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    return Convert.ToUInt32(line["Umask:".Length..].Trim(), 8) & 0x1FF;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0x12;
    }

    /// <summary>
    /// The mode <paramref name="oldMode"/> becomes for a file (a directory when
    /// <paramref name="isDirectory"/>), with <paramref name="umask"/> for clauses that name
    /// no class.
    /// </summary>
    public uint Apply(uint oldMode, bool isDirectory, uint umask)
    {
        uint mode = oldMode & AllBits;
        foreach (Clause c in _clauses)
        {
            // A directory's setuid and setgid bits stay as they are unless named (they
            // steer the group of new files there, not execution).
            uint omit = (isDirectory ? SetUid | SetGid : 0) & ~c.Mentioned;
            uint value = c.Kind switch
            {
                ValueKind.CopyClass => Replicate(c.Value & mode),
                ValueKind.ExecuteIfAny when isDirectory || (mode & Execute) != 0 => c.Value | Execute,
                _ => c.Value,
            };
            value &= (c.Who != 0 ? c.Who : ~umask) & ~omit;
            mode = c.Op switch
            {
                '=' => (mode & ((c.Who != 0 ? ~c.Who : 0) | omit)) | value,
                '+' => mode | value,
                _ => mode & ~value,
            };
        }
        return mode & AllBits;
    }

    private void ParseClause(string text, string clause)
    {
        int i = 0;
        uint who = 0;
        for (; i < clause.Length && clause[i] is 'u' or 'g' or 'o' or 'a'; i++)
        {
            who |= clause[i] switch { 'u' => UserBits, 'g' => GroupBits, 'o' => OtherBits, _ => AllBits };
        }
        if (i == clause.Length)
        {
            throw Bad(text);
        }
        while (i < clause.Length)
        {
            char op = clause[i++];
            if (op is not ('+' or '-' or '='))
            {
                throw Bad(text);
            }
            if (i < clause.Length && clause[i] is 'u' or 'g' or 'o')
            {
                uint from = clause[i++] switch { 'u' => 0x1C0u, 'g' => 0x038u, _ => 0x007u };
                _clauses.Add(new Clause(op, who, from, ValueKind.CopyClass, who != 0 ? who & from : from));
                continue;
            }
            uint value = 0;
            ValueKind kind = ValueKind.Literal;
            for (; i < clause.Length && clause[i] is 'r' or 'w' or 'x' or 'X' or 's' or 't'; i++)
            {
                switch (clause[i])
                {
                    case 'r': value |= Read; break;
                    case 'w': value |= Write; break;
                    case 'x': value |= Execute; break;
                    case 'X': kind = ValueKind.ExecuteIfAny; break;
                    case 's': value |= SetUid | SetGid; break;
                    default: value |= Sticky; break;
                }
            }
            _clauses.Add(new Clause(op, who, value, kind, who != 0 ? who & value : value));
        }
    }

    /// <summary>The rwx bits of one class, given in any position, set for all three classes.</summary>
    private static uint Replicate(uint bits) =>
        ((bits & Read) != 0 ? Read : 0) | ((bits & Write) != 0 ? Write : 0) | ((bits & Execute) != 0 ? Execute : 0);

    private static UsageException Bad(string text) =>
        new($"bad mode '{text}' (octal such as 0644, or symbolic such as u+x,go-w)");
}
