using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace FnOperator.Gateway.Streaming;

/// <summary>
/// The AWS event stream binary framing (application/vnd.amazon.eventstream) for the events of InvokeWithResponseStream:
/// prelude (total length, headers length, CRC32 of the two), headers (name length u8, name, type 7 = string, value length
/// u16, value), payload, CRC32 of everything before it. Big-endian throughout; CRC32 is IEEE 802.3.
/// </summary>
public static class EventStream
{
    private const int PreludeBytes = 12;
    private const int CrcBytes = 4;
    private const byte StringType = 7;

    /// <summary>One event message (<c>:message-type</c> event) with the given <c>:event-type</c> and <c>:content-type</c>.</summary>
    public static byte[] Event(string eventType, string contentType, ReadOnlySequence<byte> payload)
    {
        var headers = Headers([(":event-type", eventType), (":content-type", contentType), (":message-type", "event")]);
        var total = PreludeBytes + headers.Length + (int)payload.Length + CrcBytes;
        var message = new byte[total];
        var span = message.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, total);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], headers.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], Crc32.Compute(span[..8]));
        headers.CopyTo(span[PreludeBytes..]);
        payload.CopyTo(span[(PreludeBytes + headers.Length)..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(total - CrcBytes)..], Crc32.Compute(span[..(total - CrcBytes)]));
        return message;
    }

    public static byte[] Event(string eventType, string contentType, ReadOnlyMemory<byte> payload) =>
        Event(eventType, contentType, new ReadOnlySequence<byte>(payload));

    private static byte[] Headers(IEnumerable<(string Name, string Value)> headers)
    {
        using var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[2];
        foreach (var (name, value) in headers)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var valueBytes = Encoding.UTF8.GetBytes(value);
            buffer.WriteByte((byte)nameBytes.Length);
            buffer.Write(nameBytes);
            buffer.WriteByte(StringType);
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)valueBytes.Length);
            buffer.Write(length);
            buffer.Write(valueBytes);
        }

        return buffer.ToArray();
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as the event stream format uses.</summary>
    public static class Crc32
    {
        private static readonly uint[] Table = BuildTable();

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return ~crc;
        }

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                var c = i;
                for (var k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                table[i] = c;
            }

            return table;
        }
    }
}
