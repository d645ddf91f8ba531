using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FnOperator.EventSources;

/// <summary>
/// Lambda event filtering applied per record: a record passes when it matches any filter (no filters: every record).
/// The document a pattern sees is the record's metadata plus its payload under <c>body</c> (queues) or <c>data</c>
/// (streams): parsed when the payload is a JSON object or array, otherwise the plain string — so a JSON pattern never
/// matches a non-JSON payload and a plain-value pattern never matches a JSON one (both dropped, as Lambda does).
/// Queue documents: <c>messageId</c>, <c>attributes</c>, <c>messageAttributes</c>, <c>body</c>. Stream documents:
/// <c>partitionKey</c>, <c>sequenceNumber</c>, <c>data</c>.
/// </summary>
public sealed class RecordFilter
{
    public const int MaxFilters = 5;

    private readonly FilterPattern[] patterns;

    /// <param name="stream">
    /// A stream mapping: as Lambda's Kinesis mappings, stream data is matched only as JSON, so a plain-value pattern on
    /// <c>data</c> (<c>{"data":["text"]}</c>, which could only match non-JSON data) is rejected like an invalid pattern.
    /// </param>
    /// <exception cref="FilterPatternException">A pattern is invalid.</exception>
    public RecordFilter(IEnumerable<string>? patterns, bool stream = false)
    {
        var texts = (patterns ?? []).ToList();
        this.patterns = [.. texts.Select(FilterPattern.Parse)];
        if (this.patterns.Length > MaxFilters)
        {
            throw new FilterPatternException($"At most {MaxFilters} filters are allowed.");
        }

        if (stream && texts.Any(t => HasPlainDataPattern(JsonNode.Parse(t))))
        {
            throw new FilterPatternException($"{FilterPattern.InvalidMessage} Stream data is matched as JSON: \"data\" takes an object pattern, not a list of plain values.");
        }
    }

    /// <summary>True when <c>data</c> (at the top or in a top-level <c>$or</c> branch) holds a list: a plain-value pattern.</summary>
    private static bool HasPlainDataPattern(JsonNode? pattern) =>
        pattern is JsonObject o && (o["data"] is JsonArray || (o["$or"] is JsonArray branches && branches.Any(HasPlainDataPattern)));

    public static RecordFilter None { get; } = new(null);

    public bool IsEmpty => patterns.Length == 0;

    public bool Matches(SourceRecord record, SourceKind kind)
    {
        if (patterns.Length == 0)
        {
            return true;
        }

        var document = Document(record, kind);
        return patterns.Any(p => p.Matches(document));
    }

    /// <summary>Per the source: RabbitMQ documents are <c>basicProperties</c>, <c>redelivered</c> and <c>data</c> (Lambda's MQ data key).</summary>
    public bool Matches(SourceRecord record, SourceIdentity source)
    {
        if (!source.IsRabbitMq)
        {
            return Matches(record, source.Kind);
        }

        if (patterns.Length == 0)
        {
            return true;
        }

        var document = new JsonObject
        {
            ["basicProperties"] = record.Properties?.DeepClone() ?? new JsonObject(),
            ["redelivered"] = record.Redelivered,
            ["data"] = Payload(record.Body.Span),
        };
        return patterns.Any(p => p.Matches(document));
    }

    public static JsonObject Document(SourceRecord record, SourceKind kind)
    {
        var payload = Payload(record.Body.Span);
        if (kind == SourceKind.Stream)
        {
            return new JsonObject
            {
                ["partitionKey"] = record.PartitionKey ?? "",
                ["sequenceNumber"] = record.Id,
                ["data"] = payload,
            };
        }

        var attributes = new JsonObject { ["ApproximateReceiveCount"] = record.DeliveryCount.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var messageAttributes = new JsonObject();
        foreach (var (name, value) in record.Attributes)
        {
            messageAttributes[name] = new JsonObject { ["stringValue"] = value, ["dataType"] = "String" };
        }

        return new JsonObject
        {
            ["messageId"] = record.Id,
            ["attributes"] = attributes,
            ["messageAttributes"] = messageAttributes,
            ["body"] = payload,
        };
    }

    private static JsonNode? Payload(ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && trimmed[0] is (byte)'{' or (byte)'[')
        {
            try
            {
                return JsonNode.Parse(body);
            }
            catch (JsonException)
            {
            }
        }

        return JsonValue.Create(Encoding.UTF8.GetString(body));
    }
}
