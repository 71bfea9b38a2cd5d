namespace RumpFs.Tools.Ukfs;

/// <summary>
/// User and group names for ids, from the host's /etc/passwd and /etc/group, as stat on a
/// mount of the image would show them (the image keeps only numbers). An id the host does
/// not name is "UNKNOWN", as stat prints it. Name services beyond those files (LDAP, NIS)
/// are not asked.
/// </summary>
internal static class HostAccounts
{
    private static readonly Lazy<Dictionary<uint, string>> s_users = new(() => Read("/etc/passwd"));
    private static readonly Lazy<Dictionary<uint, string>> s_groups = new(() => Read("/etc/group"));

    public static string UserName(uint uid) => s_users.Value.GetValueOrDefault(uid, "UNKNOWN");

    public static string GroupName(uint gid) => s_groups.Value.GetValueOrDefault(gid, "UNKNOWN");

    /// <summary>name:password:id:... lines; the first name given an id wins, as getpwuid finds it.</summary>
    private static Dictionary<uint, string> Read(string path)
    {
        var names = new Dictionary<uint, string>();
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 3 && uint.TryParse(fields[2], out uint id))
                {
                    names.TryAdd(id, fields[0]);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return names;
    }
}
