using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FnOperator.EventSources.Tests;

/// <summary>Field-by-field checks of one record of a batch against Lambda's SQS and Kinesis event records (every field, nothing else).</summary>
public static class LambdaShapes
{
    private static readonly string[] SqsFields = ["messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"];
    private static readonly string[] KinesisFields = ["kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn", "awsRegion", "eventSourceARN"];
    private static readonly string[] KinesisDataFields = ["kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"];

    /// <summary>An SQS-style record: <paramref name="sentAfter"/>/<paramref name="sentBefore"/> bound SentTimestamp (the time the message was sent).</summary>
    public static void AssertSqsRecord(JsonElement r, string body, string arn, string senderId, int receiveCount, DateTimeOffset sentAfter, DateTimeOffset sentBefore, IReadOnlyDictionary<string, string>? attributes = null)
    {
        Assert.Equal(SqsFields.Order(), r.EnumerateObject().Select(p => p.Name).Order());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("messageId").GetString()));
        Assert.False(string.IsNullOrEmpty(r.GetProperty("receiptHandle").GetString()));
        Assert.Equal(body, r.GetProperty("body").GetString());
        var a = r.GetProperty("attributes");
        Assert.Equal(["ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"], a.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(receiveCount.ToString(CultureInfo.InvariantCulture), a.GetProperty("ApproximateReceiveCount").GetString());
        var sent = long.Parse(a.GetProperty("SentTimestamp").GetString()!, CultureInfo.InvariantCulture); // epoch milliseconds, as a string
        Assert.InRange(sent, sentAfter.ToUnixTimeMilliseconds(), sentBefore.ToUnixTimeMilliseconds());
        Assert.InRange(long.Parse(a.GetProperty("ApproximateFirstReceiveTimestamp").GetString()!, CultureInfo.InvariantCulture), sent, sentBefore.AddMinutes(5).ToUnixTimeMilliseconds());
        Assert.Equal(senderId, a.GetProperty("SenderId").GetString());
        var m = r.GetProperty("messageAttributes");
        Assert.Equal((attributes ?? new Dictionary<string, string>()).Keys.Order(), m.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (name, value) in attributes ?? new Dictionary<string, string>())
        {
            var attribute = m.GetProperty(name);
            Assert.Equal(value, attribute.GetProperty("stringValue").GetString());
            Assert.Equal("String", attribute.GetProperty("dataType").GetString());
            Assert.Equal(0, attribute.GetProperty("stringListValues").GetArrayLength());
            Assert.Equal(0, attribute.GetProperty("binaryListValues").GetArrayLength());
        }

        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body))), r.GetProperty("md5OfBody").GetString());
        Assert.Equal("aws:sqs", r.GetProperty("eventSource").GetString());
        Assert.Equal(arn, r.GetProperty("eventSourceARN").GetString());
        Assert.Equal("local", r.GetProperty("awsRegion").GetString());
    }

    /// <summary>A Kinesis-style record with base64 data; arrival is bounded by <paramref name="after"/>/<paramref name="before"/>.</summary>
    public static void AssertKinesisRecord(JsonElement r, string data, string partitionKey, string sequenceNumber, string arn, string ns, DateTimeOffset after, DateTimeOffset before)
    {
        Assert.Equal(KinesisFields.Order(), r.EnumerateObject().Select(p => p.Name).Order());
        var k = r.GetProperty("kinesis");
        Assert.Equal(KinesisDataFields.Order(), k.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("1.0", k.GetProperty("kinesisSchemaVersion").GetString());
        Assert.Equal(partitionKey, k.GetProperty("partitionKey").GetString());
        Assert.Equal(sequenceNumber, k.GetProperty("sequenceNumber").GetString());
        Assert.Equal(data, Encoding.UTF8.GetString(Convert.FromBase64String(k.GetProperty("data").GetString()!)));
        Assert.InRange(k.GetProperty("approximateArrivalTimestamp").GetDouble(), after.ToUnixTimeMilliseconds() / 1000.0 - 0.001, before.ToUnixTimeMilliseconds() / 1000.0 + 0.001); // epoch seconds
        Assert.Equal("aws:kinesis", r.GetProperty("eventSource").GetString());
        Assert.Equal("1.0", r.GetProperty("eventVersion").GetString());
        Assert.Matches($"^shardId-[0-9a-f]{{12}}:{sequenceNumber}$", r.GetProperty("eventID").GetString());
        Assert.Equal("aws:kinesis:record", r.GetProperty("eventName").GetString());
        Assert.Equal($"arn:fnoperator:iam::{ns}:role/fn-operator", r.GetProperty("invokeIdentityArn").GetString());
        Assert.Equal("local", r.GetProperty("awsRegion").GetString());
        Assert.Equal(arn, r.GetProperty("eventSourceARN").GetString());
    }
}
