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
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)Math.Min(length, limit) : 4096);
        var chunk = new byte[81920];
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
