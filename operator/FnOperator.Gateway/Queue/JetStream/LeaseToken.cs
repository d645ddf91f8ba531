using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>
/// What a JetStream lease token carries, so that any replica can complete a lease another replica handed out: the
/// message's ack subject (it names the stream sequence and this delivery), the stream sequence and the request id.
/// The token is signed with the replicas' shared key (HMAC-SHA256), so a worker cannot forge one for another message.
/// </summary>
public sealed record LeaseToken(string AckSubject, ulong Sequence, string RequestId, ulong Delivery)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Encode(byte[] key)
    {
        var body = Base64Url(JsonSerializer.SerializeToUtf8Bytes(this, Json));
        return body + "." + Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body)));
    }

    /// <summary>The token's contents when its signature is valid; null for anything else.</summary>
    public static LeaseToken? Decode(byte[] key, string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 4096)
        {
            return null;
        }

        var body = token[..dot];
        var expected = Encoding.ASCII.GetBytes(Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body))));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(token[(dot + 1)..])))
        {
            return null;
        }

        try
        {
            var padded = body.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            return JsonSerializer.Deserialize<LeaseToken>(Convert.FromBase64String(padded), Json);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
