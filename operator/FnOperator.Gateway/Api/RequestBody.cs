using System.Text;

namespace FnOperator.Gateway.Api;

/// <summary>Reads a request body up to a size limit without buffering more than limit + 1 bytes.</summary>
public static class RequestBody
{
    /// <summary>
    /// The bytes to reserve in the admission budget before reading: the declared length, else (chunked) the limit; zero
    /// when the declared length is over the limit (the body is refused unread with 413).
    /// </summary>
    public static long Reservation(HttpRequest request, long limit) => request.ContentLength switch
    {
        { } declared when declared > limit => 0,
        { } declared => declared,
        null => limit,
    };

    /// <summary>The body, or null when it is larger than <paramref name="limit"/> bytes.</summary>
    /// <remarks>
    /// A declared length is read straight into an array of that size (no copy, no scratch buffer: the 80 KB chunk this
    /// allocated and zeroed per request showed in the issue #19 profile); a chunked body through a pooled chunk.
    /// </remarks>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared)
        {
            if (declared > limit)
            {
                return null;
            }

            var body = new byte[declared];
            var filled = 0;
            while (filled < body.Length)
            {
                var n = await request.Body.ReadAsync(body.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return body[..filled];
                }

                filled += n;
            }

            return body;
        }

        using var buffer = new MemoryStream(4096);
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.ToArray();
                }

                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Decodes X-Amz-Client-Context (base64 of a JSON value); false when it is not that. Absent is valid (null).</summary>
    public static bool TryDecodeClientContext(string? header, out string? clientContext)
    {
        clientContext = null;
        if (string.IsNullOrEmpty(header))
        {
            return true;
        }

        try
        {
            var bytes = Convert.FromBase64String(header);
            if (!LambdaErrors.IsJson(bytes, out _))
            {
                return false;
            }

            clientContext = Encoding.UTF8.GetString(bytes);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
