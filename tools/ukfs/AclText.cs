using System.Globalization;
using System.Text;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>One entry of a setfacl spec: which list, which entry, and its rights (null for -x).</summary>
internal readonly record struct AclSpecEntry(bool Default, AclTag Tag, uint Id, ushort? Perm);

/// <summary>
/// ACLs in the acl package's text form (acl(5)): what getfacl prints and what setfacl's -m,
/// -x and --set take. Users and groups are numbers: an image's ids name the image's users,
/// not the host's.
/// </summary>
internal static class AclText
{
    /// <summary>getfacl's lines for one list: "user:1234:r-x", with "#effective:" where the mask takes rights away.</summary>
    public static IEnumerable<string> Lines(PosixAcl acl, string prefix)
    {
        ushort? mask = acl.Find(AclTag.Mask)?.Perm;
        foreach (AclEntry e in acl.Entries)
        {
            string line = prefix + e.Tag switch
            {
                AclTag.UserObj => "user::",
                AclTag.User => $"user:{e.Id.ToString(CultureInfo.InvariantCulture)}:",
                AclTag.GroupObj => "group::",
                AclTag.Group => $"group:{e.Id.ToString(CultureInfo.InvariantCulture)}:",
                AclTag.Mask => "mask::",
                _ => "other::",
            } + Rights(e.Perm);
            bool masked = e.Tag is AclTag.User or AclTag.GroupObj or AclTag.Group && mask is ushort m && (e.Perm & ~m) != 0;
            yield return masked ? $"{line}\t#effective:{Rights((ushort)(e.Perm & mask!.Value))}" : line;
        }
    }

    public static string Rights(ushort perm) =>
        new StringBuilder(3).Append((perm & 4) != 0 ? 'r' : '-').Append((perm & 2) != 0 ? 'w' : '-').Append((perm & 1) != 0 ? 'x' : '-').ToString();

    /// <summary>
    /// Parse a comma-separated spec ("u:1000:rw,d:g:5:r-x,m::rx"); <paramref name="withRights"/>
    /// false for -x, where entries name no rights. Throws <see cref="UsageException"/> naming the bad entry.
    /// </summary>
    public static List<AclSpecEntry> ParseSpec(string spec, bool withRights, string verb)
    {
        var entries = new List<AclSpecEntry>();
        foreach (string raw in spec.Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string text = raw;
            bool dflt = false;
            foreach (string p in new[] { "default:", "d:" })
            {
                if (text.StartsWith(p, StringComparison.Ordinal))
                {
                    dflt = true;
                    text = text[p.Length..];
                    break;
                }
            }
            string[] parts = text.Split(':');
            AclTag? kind = parts[0] switch
            {
                "u" or "user" => AclTag.User,
                "g" or "group" => AclTag.Group,
                "m" or "mask" => AclTag.Mask,
                "o" or "other" => AclTag.Other,
                _ => null,
            };
            if (kind is null)
            {
                throw new UsageException($"{verb}: '{raw}': an entry starts with u, g, m or o (user, group, mask, other)");
            }
            string qualifier = parts.Length > 1 ? parts[1] : "";
            int rightsAt = 2;
            if (kind is AclTag.Mask or AclTag.Other && parts.Length == 2 && withRights)
            {
                // "m:rx" and "o:r" as well as "m::rx".
                (qualifier, rightsAt) = ("", 1);
            }
            bool named = qualifier.Length > 0;
            if (named && kind is AclTag.Mask or AclTag.Other)
            {
                throw new UsageException($"{verb}: '{raw}': a mask or other entry names no one");
            }
            uint id = PosixAcl.UndefinedId;
            if (named && !uint.TryParse(qualifier, NumberStyles.None, CultureInfo.InvariantCulture, out id))
            {
                throw new UsageException($"{verb}: '{raw}': users and groups are numeric ids in an image");
            }
            AclTag tag = kind.Value switch
            {
                AclTag.User => named ? AclTag.User : AclTag.UserObj,
                AclTag.Group => named ? AclTag.Group : AclTag.GroupObj,
                _ => kind.Value,
            };
            ushort? perm = null;
            if (withRights)
            {
                if (parts.Length != rightsAt + 1 || ParseRights(parts[rightsAt]) is not ushort p)
                {
                    throw new UsageException($"{verb}: '{raw}': rights are r, w, x and - (or one octal digit; X is not taken)");
                }
                perm = p;
            }
            else if ((parts.Length > 2 && !(parts.Length == 3 && parts[2].Length == 0)) || parts.Length > 3
                || (parts.Length >= 2 && kind is AclTag.Mask or AclTag.Other && qualifier.Length > 0))
            {
                throw new UsageException($"{verb}: '{raw}': -x takes entries without rights (u:1000, g:5, m)");
            }
            entries.Add(new AclSpecEntry(dflt, tag, id, perm));
        }
        if (entries.Count == 0)
        {
            throw new UsageException($"{verb}: an empty ACL spec");
        }
        return entries;
    }

    private static ushort? ParseRights(string text)
    {
        if (text.Length == 1 && text[0] is >= '0' and <= '7')
        {
            return (ushort)(text[0] - '0');
        }
        ushort perm = 0;
        foreach (char c in text)
        {
            perm |= c switch
            {
                'r' => (ushort)4,
                'w' => (ushort)2,
                'x' => (ushort)1,
                '-' => (ushort)0,
                _ => ushort.MaxValue,
            };
        }
        return perm > 7 ? null : perm;
    }
}
