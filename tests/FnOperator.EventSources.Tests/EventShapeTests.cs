using System.Text;
using System.Text.Json;

namespace FnOperator.EventSources.Tests;

public sealed class EventShapeTests
{
    private static readonly SourceRecord Record = new()
    {
        Id = "42", Body = Encoding.UTF8.GetBytes("""{"a":1}"""), Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1545082649183),
        PartitionKey = "pk", Sequence = 42, DeliveryCount = 2, Attributes = new Dictionary<string, string> { ["type"] = "t" },
    };

    [Fact]
    public void Queue_batch_has_the_sqs_record_shape()
    {
        var source = new SourceIdentity(SourceKind.Queue, "nats", "orders", "shop");
        var r = JsonDocument.Parse(EventShapes.Batch(source, [Record with { PartitionKey = null }])).RootElement.GetProperty("Records")[0];
        Assert.Equal("42", r.GetProperty("messageId").GetString());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("receiptHandle").GetString()));
        Assert.Equal("""{"a":1}""", r.GetProperty("body").GetString());
        var attributes = r.GetProperty("attributes");
        Assert.Equal("2", attributes.GetProperty("ApproximateReceiveCount").GetString());
        Assert.Equal("1545082649183", attributes.GetProperty("SentTimestamp").GetString());
        Assert.Equal("nats", attributes.GetProperty("SenderId").GetString());
        Assert.Equal("1545082649183", attributes.GetProperty("ApproximateFirstReceiveTimestamp").GetString());
        Assert.Equal("t", r.GetProperty("messageAttributes").GetProperty("type").GetProperty("stringValue").GetString());
        Assert.Equal("String", r.GetProperty("messageAttributes").GetProperty("type").GetProperty("dataType").GetString());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Record.Body.Span)), r.GetProperty("md5OfBody").GetString());
        Assert.Equal("aws:sqs", r.GetProperty("eventSource").GetString());
        Assert.Equal("arn:fnoperator:nats:local:shop:queue/orders", r.GetProperty("eventSourceARN").GetString());
        Assert.Equal("local", r.GetProperty("awsRegion").GetString());
    }

    [Fact]
    public void Stream_batch_has_the_kinesis_record_shape()
    {
        var source = new SourceIdentity(SourceKind.Stream, "redis", "events", "default");
        var r = JsonDocument.Parse(EventShapes.Batch(source, [Record])).RootElement.GetProperty("Records")[0];
        var k = r.GetProperty("kinesis");
        Assert.Equal("1.0", k.GetProperty("kinesisSchemaVersion").GetString());
        Assert.Equal("pk", k.GetProperty("partitionKey").GetString());
        Assert.Equal("42", k.GetProperty("sequenceNumber").GetString());
        Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(Convert.FromBase64String(k.GetProperty("data").GetString()!)));
        Assert.Equal(1545082649.183, k.GetProperty("approximateArrivalTimestamp").GetDouble(), 3);
        Assert.Equal("aws:kinesis", r.GetProperty("eventSource").GetString());
        Assert.Equal("1.0", r.GetProperty("eventVersion").GetString());
        Assert.Equal($"{EventShapes.ShardId(Record)}:42", r.GetProperty("eventID").GetString());
        Assert.Equal("aws:kinesis:record", r.GetProperty("eventName").GetString());
        Assert.StartsWith("arn:", r.GetProperty("invokeIdentityArn").GetString());
        Assert.Equal("local", r.GetProperty("awsRegion").GetString());
        Assert.Equal("arn:fnoperator:redis:local:default:stream/events", r.GetProperty("eventSourceARN").GetString());
    }

    [Fact]
    public void Stream_failure_record_has_lambdas_shape_without_records()
    {
        var source = new SourceIdentity(SourceKind.Stream, "nats", "events", "default");
        var batch = new[] { Record, Record with { Id = "43", Sequence = 43 } };
        var doc = JsonDocument.Parse(EventShapes.StreamFailure(source, EventShapes.FunctionArn("default", "f"), batch, StreamDecisions.RetryAttemptsExhausted, 3, new InvokeSummary(200, "Unhandled"), DateTimeOffset.UnixEpoch)).RootElement;
        Assert.Equal("RetryAttemptsExhausted", doc.GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.Equal(3, doc.GetProperty("requestContext").GetProperty("approximateInvokeCount").GetInt32());
        Assert.Equal("arn:fnoperator:lambda:local:default:function:f", doc.GetProperty("requestContext").GetProperty("functionArn").GetString());
        Assert.Equal("Unhandled", doc.GetProperty("responseContext").GetProperty("functionError").GetString());
        Assert.Equal("$LATEST", doc.GetProperty("responseContext").GetProperty("executedVersion").GetString());
        Assert.Equal("1.0", doc.GetProperty("version").GetString());
        Assert.Equal("1970-01-01T00:00:00.000Z", doc.GetProperty("timestamp").GetString());
        var info = doc.GetProperty("KinesisBatchInfo");
        Assert.Equal("42", info.GetProperty("startSequenceNumber").GetString());
        Assert.Equal("43", info.GetProperty("endSequenceNumber").GetString());
        Assert.Equal(2, info.GetProperty("batchSize").GetInt32());
        Assert.Equal(source.Arn, info.GetProperty("streamArn").GetString());
        Assert.False(doc.TryGetProperty("Records", out _));
    }
}
