using System.Security.Cryptography;

namespace FnOperator.Gateway.Queue;

/// <summary>
/// Random (version 4, RFC 9562 variant) GUIDs for request ids, lease tokens and trace ids, from cryptographically strong
/// bytes fetched 64 GUIDs at a time per thread. <see cref="Guid.NewGuid"/> reads the kernel's random source once per
/// GUID (a <c>read</c> of /dev/urandom on Linux, seen in issue #19's profile), and an invocation needed three.
/// </summary>
public static class RandomIds
{
    private const int PerRefill = 64;

    [ThreadStatic]
    private static byte[]? t_bytes;

    [ThreadStatic]
    private static int t_next;

    /// <summary>A new random version 4 GUID.</summary>
    public static Guid NewGuid()
    {
        var bytes = t_bytes;
        if (bytes is null)
        {
            bytes = t_bytes = new byte[16 * PerRefill];
            t_next = bytes.Length;
        }

        if (t_next >= bytes.Length)
        {
            RandomNumberGenerator.Fill(bytes);
            t_next = 0;
        }

        var span = bytes.AsSpan(t_next, 16);
        t_next += 16;

        // Guid(ReadOnlySpan<byte>) takes the first three fields little-endian: the version is the high nibble of byte 7,
        // the variant the top bits of byte 8 (what Guid.NewGuid sets too).
        span[7] = (byte)((span[7] & 0x0F) | 0x40);
        span[8] = (byte)((span[8] & 0x3F) | 0x80);
        var guid = new Guid(span);
        span.Clear(); // a handed-out id does not stay in the buffer
        return guid;
    }
}
