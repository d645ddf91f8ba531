using System.Security.Cryptography;
using System.Text;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>Subjects, consumer names and headers of the JetStream queue (one place, so every replica agrees).</summary>
public static class JetStreamNames
{
    /// <summary>Header: not handed out before this time (unix ms), for delayed async retries.</summary>
    public const string NotBeforeHeader = "Fnop-Not-Before";

    /// <summary>
    /// Header of an event a caller is waiting to see accepted: the wall-clock time (unix ms) after which the gateway
    /// answers that caller 500. A copy JetStream stored later than that (plus the clock tolerance) is dropped at hand-out.
    /// </summary>
    public const string AcceptByHeader = "Fnop-Accept-By";

    /// <summary>Header of a sync invocation: the subject of the caller's replica that receives its events.</summary>
    public const string ReplyHeader = "Fnop-Reply";

    /// <summary>Header of a sync invocation: not handed out after this time (unix ms; the caller has stopped waiting).</summary>
    public const string StartByHeader = "Fnop-Start-By";

    /// <summary>Header of an event to a caller's replica: started, result, lost or requeued.</summary>
    public const string EventHeader = "Fnop-Event";

    public const string RequestIdHeader = "Fnop-Request-Id";

    public const string ReplyPrefix = "fnop.reply";

    /// <summary>The subject of one function version: <c>{prefix}.{ns}.{name}.{version}</c>, each token escaped.</summary>
    public static string Subject(string prefix, FunctionKey key, string version) =>
        $"{prefix}.{Token(key.Namespace)}.{Token(key.Name)}.{Token(version)}";

    /// <summary>The durable pull consumer of one function version (names may not contain '.', '*', '&gt;').</summary>
    public static string Consumer(FunctionKey key, string version)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{key.Namespace}/{key.Name}/{version}"));
        return "fnop-" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }

    /// <summary>Parses a subject made by <see cref="Subject"/> back into its function version; false for anything else.</summary>
    public static bool TryParse(string prefix, string subject, out FunctionKey key, out string version)
    {
        key = null!;
        version = "";
        if (!subject.StartsWith(prefix + ".", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = subject[(prefix.Length + 1)..].Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        key = new FunctionKey(Unescape(parts[0]), Unescape(parts[1]));
        version = Unescape(parts[2]);
        return true;
    }

    /// <summary>Escapes what a subject token may not contain ('.', '*', '&gt;', whitespace) and '%' itself, as %XX.</summary>
    public static string Token(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '.' or '*' or '>' or '%' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                text.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private static string Unescape(string token) => Uri.UnescapeDataString(token);
}
