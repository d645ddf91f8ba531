using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FnOperator.EventSources;

/// <summary>
/// Lambda's event shapes, so handlers written for Lambda run unmodified: queue batches as SQS records
/// (<c>{"Records":[{"messageId","receiptHandle","body","attributes",…}]}</c>), stream batches as Kinesis records with
/// base64 <c>data</c>, and the on-failure record Lambda writes for a discarded stream batch.
/// </summary>
public static class EventShapes
{
    /// <summary>The <c>awsRegion</c> of every event (there is no AWS region here).</summary>
    public const string Region = "local";

    /// <summary>Lambda's payload limit of a synchronous invocation, which a batch must fit.</summary>
    public const int MaxPayloadBytes = 6 * 1024 * 1024;

    /// <summary>The JSON around each record and the batch (keys, ids, attributes), an upper bound used for the 6 MB check.</summary>
    public const int RecordOverheadBytes = 1024;

    /// <summary>The bytes a record adds to its batch's payload, at most (JSON escaping ≤ 6×, base64 4/3×: the worst of both).</summary>
    public static long EstimatedSize(SourceRecord record, SourceKind kind) =>
        RecordOverheadBytes + (kind == SourceKind.Stream ? ((record.Body.Length + 2) / 3 * 4) : EscapedLength(record.Body.Span));

    /// <summary>As <see cref="EstimatedSize(SourceRecord, SourceKind)"/>; RabbitMQ data is base64 and its basicProperties count too.</summary>
    public static long EstimatedSize(SourceRecord record, SourceIdentity source) =>
        source.IsRabbitMq
            ? RecordOverheadBytes + ((record.Body.Length + 2) / 3 * 4) + (record.Properties is null ? 0 : Encoding.UTF8.GetByteCount(record.Properties.ToJsonString()))
            : EstimatedSize(record, source.Kind);

    /// <summary>The <c>rmqMessagesByQueue</c> key: <c>queue::vhost</c>, as Lambda names it (e.g. <c>orders::/</c>).</summary>
    public static string RabbitMqQueueKey(SourceIdentity source) => $"{source.Name}::{source.VirtualHost ?? "/"}";

    public static string FunctionArn(string ns, string function) => $"arn:fnoperator:lambda:{Region}:{ns}:function:{function}";

    public static byte[] Batch(SourceIdentity source, IReadOnlyList<SourceRecord> records)
    {
        if (source.IsRabbitMq)
        {
            return RabbitMqBatch(source, records);
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("Records");
            foreach (var record in records)
            {
                if (source.Kind == SourceKind.Queue)
                {
                    WriteQueueRecord(w, source, record);
                }
                else
                {
                    WriteStreamRecord(w, source, record);
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string ShardId(SourceRecord record) => "shardId-" + (record.PartitionKey is null ? "000000000000" : Hex12(record.PartitionKey));

    /// <summary>The record Lambda sends to a stream mapping's on-failure destination: metadata about the batch, no records.</summary>
    public static byte[] StreamFailure(SourceIdentity source, string functionArn, IReadOnlyList<SourceRecord> batch, string condition, int invokeCount, InvokeSummary last, DateTimeOffset now)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("requestContext");
            w.WriteString("requestId", Guid.NewGuid().ToString());
            w.WriteString("functionArn", functionArn);
            w.WriteString("condition", condition);
            w.WriteNumber("approximateInvokeCount", invokeCount);
            w.WriteEndObject();
            w.WriteStartObject("responseContext");
            w.WriteNumber("statusCode", last.StatusCode);
            w.WriteString("executedVersion", last.ExecutedVersion);
            if (last.FunctionError is null)
            {
                w.WriteNull("functionError");
            }
            else
            {
                w.WriteString("functionError", last.FunctionError);
            }

            w.WriteEndObject();
            w.WriteString("version", "1.0");
            w.WriteString("timestamp", Iso(now));
            w.WriteStartObject("KinesisBatchInfo");
            w.WriteString("shardId", ShardId(batch[0]));
            w.WriteString("startSequenceNumber", batch[0].Id);
            w.WriteString("endSequenceNumber", batch[^1].Id);
            w.WriteString("approximateArrivalOfFirstRecord", Iso(batch[0].Timestamp));
            w.WriteString("approximateArrivalOfLastRecord", Iso(batch[^1].Timestamp));
            w.WriteNumber("batchSize", batch.Count);
            w.WriteString("streamArn", source.Arn);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Lambda's Amazon MQ for RabbitMQ event: <c>{"eventSource":"aws:rmq","eventSourceArn","rmqMessagesByQueue":
    /// {"queue::vhost":[{"basicProperties":{…},"redelivered","data":base64}]}}</c>.
    /// </summary>
    public static byte[] RabbitMqBatch(SourceIdentity source, IReadOnlyList<SourceRecord> records)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("eventSource", source.EventSource);
            w.WriteString("eventSourceArn", source.Arn);
            w.WriteStartObject("rmqMessagesByQueue");
            w.WriteStartArray(RabbitMqQueueKey(source));
            foreach (var r in records)
            {
                w.WriteStartObject();
                w.WritePropertyName("basicProperties");
                if (r.Properties is null)
                {
                    w.WriteStartObject();
                    w.WriteEndObject();
                }
                else
                {
                    r.Properties.WriteTo(w);
                }

                w.WriteBoolean("redelivered", r.Redelivered);
                w.WriteBase64String("data", r.Body.Span);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteQueueRecord(Utf8JsonWriter w, SourceIdentity source, SourceRecord r)
    {
        var body = Encoding.UTF8.GetString(r.Body.Span);
        var sent = r.Timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        w.WriteStartObject();
        w.WriteString("messageId", r.Id);
        w.WriteString("receiptHandle", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{source.Name}/{r.Id}/{r.DeliveryCount}")));
        w.WriteString("body", body);
        w.WriteStartObject("attributes");
        w.WriteString("ApproximateReceiveCount", r.DeliveryCount.ToString(CultureInfo.InvariantCulture));
        w.WriteString("SentTimestamp", sent);
        w.WriteString("SenderId", source.Technology);
        w.WriteString("ApproximateFirstReceiveTimestamp", sent);
        if (r.PartitionKey is not null)
        {
            w.WriteString("MessageGroupId", r.PartitionKey);
        }

        w.WriteEndObject();
        w.WriteStartObject("messageAttributes");
        foreach (var (name, value) in r.Attributes)
        {
            w.WriteStartObject(name);
            w.WriteString("stringValue", value);
            w.WriteStartArray("stringListValues");
            w.WriteEndArray();
            w.WriteStartArray("binaryListValues");
            w.WriteEndArray();
            w.WriteString("dataType", "String");
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteString("md5OfBody", Convert.ToHexStringLower(MD5.HashData(r.Body.Span)));
        w.WriteString("eventSource", source.EventSource);
        w.WriteString("eventSourceARN", source.Arn);
        w.WriteString("awsRegion", source.Region);
        w.WriteEndObject();
    }

    private static void WriteStreamRecord(Utf8JsonWriter w, SourceIdentity source, SourceRecord r)
    {
        w.WriteStartObject();
        w.WriteStartObject("kinesis");
        w.WriteString("kinesisSchemaVersion", "1.0");
        w.WriteString("partitionKey", r.PartitionKey ?? "");
        w.WriteString("sequenceNumber", r.Id);
        w.WriteBase64String("data", r.Body.Span);
        w.WriteNumber("approximateArrivalTimestamp", r.Timestamp.ToUnixTimeMilliseconds() / 1000.0);
        w.WriteEndObject();
        w.WriteString("eventSource", source.EventSource);
        w.WriteString("eventVersion", "1.0");
        w.WriteString("eventID", $"{ShardId(r)}:{r.Id}");
        w.WriteString("eventName", "aws:kinesis:record");
        w.WriteString("invokeIdentityArn", $"arn:fnoperator:iam::{source.Namespace}:role/fn-operator");
        w.WriteString("awsRegion", source.Region);
        w.WriteString("eventSourceARN", source.Arn);
        w.WriteEndObject();
    }

    private static long EscapedLength(ReadOnlySpan<byte> body)
    {
        long n = 0;
        foreach (var b in body)
        {
            n += b is < 0x20 or (byte)'"' or (byte)'\\' or (byte)'<' or (byte)'>' or (byte)'&' or (byte)'\'' or (byte)'+' or >= 0x80 ? 6 : 1;
        }

        return n;
    }

    private static string Hex12(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
}

/// <summary>The last invocation's outcome as the failure record's responseContext reports it.</summary>
public sealed record InvokeSummary(int StatusCode, string? FunctionError, string ExecutedVersion = "$LATEST");
