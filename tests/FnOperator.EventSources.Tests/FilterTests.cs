using System.Text;

namespace FnOperator.EventSources.Tests;

public sealed class FilterTests
{
    private static SourceRecord Message(string body, Dictionary<string, string>? attributes = null) => new()
    {
        Id = "m1", Body = Encoding.UTF8.GetBytes(body), Timestamp = DateTimeOffset.UnixEpoch, Attributes = attributes ?? [],
    };

    [Theory]
    // exact, and, or-list
    [InlineData("""{"body":{"kind":["order"]}}""", """{"kind":"order"}""", true)]
    [InlineData("""{"body":{"kind":["order"]}}""", """{"kind":"Order"}""", false)]
    [InlineData("""{"body":{"kind":["order","refund"]}}""", """{"kind":"refund"}""", true)]
    [InlineData("""{"body":{"kind":["order"],"n":[5]}}""", """{"kind":"order","n":6}""", false)]
    [InlineData("""{"body":{"a":{"b":["x"]}}}""", """{"a":{"b":"x"}}""", true)]
    // numbers compare by their JSON text for exact matches
    [InlineData("""{"body":{"n":[300]}}""", """{"n":300}""", true)]
    [InlineData("""{"body":{"n":[300]}}""", """{"n":300.0}""", false)]
    // null, empty, booleans
    [InlineData("""{"body":{"n":[null]}}""", """{"n":null}""", true)]
    [InlineData("""{"body":{"n":[null]}}""", """{}""", false)]
    [InlineData("""{"body":{"s":[""]}}""", """{"s":""}""", true)]
    [InlineData("""{"body":{"ok":[true]}}""", """{"ok":true}""", true)]
    // prefix / suffix / equals-ignore-case
    [InlineData("""{"body":{"r":[{"prefix":"us-"}]}}""", """{"r":"us-east-1"}""", true)]
    [InlineData("""{"body":{"r":[{"prefix":"us-"}]}}""", """{"r":"eu-west-1"}""", false)]
    [InlineData("""{"body":{"r":[{"prefix":{"equals-ignore-case":"US-"}}]}}""", """{"r":"us-east-1"}""", true)]
    [InlineData("""{"body":{"f":[{"suffix":".png"}]}}""", """{"f":"a.png"}""", true)]
    [InlineData("""{"body":{"f":[{"suffix":".png"}]}}""", """{"f":"a.PNG"}""", false)]
    [InlineData("""{"body":{"name":[{"equals-ignore-case":"alice"}]}}""", """{"name":"ALICE"}""", true)]
    // anything-but
    [InlineData("""{"body":{"w":[{"anything-but":["Raining"]}]}}""", """{"w":"Sunny"}""", true)]
    [InlineData("""{"body":{"w":[{"anything-but":["Raining"]}]}}""", """{"w":"Raining"}""", false)]
    [InlineData("""{"body":{"w":[{"anything-but":"Raining"}]}}""", """{}""", false)]
    [InlineData("""{"body":{"w":[{"anything-but":{"prefix":"Rain"}}]}}""", """{"w":"Rainy"}""", false)]
    // numeric ranges
    [InlineData("""{"body":{"p":[{"numeric":["=",100]}]}}""", """{"p":100}""", true)]
    [InlineData("""{"body":{"p":[{"numeric":[">",10,"<=",20]}]}}""", """{"p":20}""", true)]
    [InlineData("""{"body":{"p":[{"numeric":[">",10,"<=",20]}]}}""", """{"p":10}""", false)]
    [InlineData("""{"body":{"p":[{"numeric":[">",10]}]}}""", """{"p":"11"}""", false)]
    // exists
    [InlineData("""{"body":{"x":[{"exists":true}]}}""", """{"x":1}""", true)]
    [InlineData("""{"body":{"x":[{"exists":true}]}}""", """{"y":1}""", false)]
    [InlineData("""{"body":{"x":[{"exists":false}]}}""", """{"y":1}""", true)]
    [InlineData("""{"body":{"x":[{"exists":false}]}}""", """{"x":1}""", false)]
    // arrays in the record: one element matching is enough
    [InlineData("""{"body":{"tags":["b"]}}""", """{"tags":["a","b"]}""", true)]
    // $or
    [InlineData("""{"body":{"$or":[{"a":["1"]},{"b":["2"]}]}}""", """{"b":"2"}""", true)]
    [InlineData("""{"body":{"$or":[{"a":["1"]},{"b":["2"]}]}}""", """{"b":"3"}""", false)]
    // JSON vs plain bodies: a JSON pattern never matches a plain body, a plain pattern never a JSON one
    [InlineData("""{"body":["hello"]}""", "hello", true)]
    [InlineData("""{"body":[{"prefix":"hel"}]}""", "hello", true)]
    [InlineData("""{"body":{"kind":["order"]}}""", "kind=order", false)]
    [InlineData("""{"body":["hello"]}""", """{"kind":"order"}""", false)]
    public void Pattern_matches_queue_bodies_as_lambda_does(string pattern, string body, bool expected) =>
        Assert.Equal(expected, new RecordFilter([pattern]).Matches(Message(body), SourceKind.Queue));

    [Fact]
    public void Filters_are_ored_and_metadata_can_be_matched()
    {
        var filter = new RecordFilter(["""{"body":{"k":["a"]}}""", """{"messageAttributes":{"type":{"stringValue":["urgent"]}}}"""]);
        Assert.True(filter.Matches(Message("""{"k":"a"}"""), SourceKind.Queue));
        Assert.True(filter.Matches(Message("""{"k":"b"}""", new() { ["type"] = "urgent" }), SourceKind.Queue));
        Assert.False(filter.Matches(Message("""{"k":"b"}"""), SourceKind.Queue));
    }

    [Fact]
    public void Stream_records_are_matched_under_data_and_partitionKey()
    {
        var record = Message("""{"temp":30}""") with { PartitionKey = "sensor-1", Id = "7" };
        Assert.True(new RecordFilter(["""{"data":{"temp":[{"numeric":[">=",30]}]},"partitionKey":[{"prefix":"sensor"}]}"""]).Matches(record, SourceKind.Stream));
        Assert.False(new RecordFilter(["""{"data":{"temp":[{"numeric":["<",30]}]}}"""]).Matches(record, SourceKind.Stream));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""["body"]""")]
    [InlineData("""{"body":{"k":"a"}}""")]
    [InlineData("""{"body":{"k":[{"wildcard2":"a"}]}}""")]
    [InlineData("""{"body":{"k":[{"numeric":["~",1]}]}}""")]
    [InlineData("""{"body":{"$or":[{"a":["1"]}]}}""")]
    public void Invalid_patterns_are_rejected_with_lambdas_text(string pattern)
    {
        var e = Assert.Throws<FilterPatternException>(() => new RecordFilter([pattern]));
        Assert.StartsWith(FilterPattern.InvalidMessage, e.Message);
    }

    [Theory]
    [InlineData("""{"data":["hello"]}""")]
    [InlineData("""{"data":[{"prefix":"hel"}]}""")]
    [InlineData("""{"$or":[{"data":["a"]},{"partitionKey":["k"]}]}""")]
    public void Stream_mappings_reject_plain_value_data_patterns_as_lambdas_kinesis_mappings_do(string pattern)
    {
        var e = Assert.Throws<FilterPatternException>(() => new RecordFilter([pattern], stream: true));
        Assert.StartsWith(FilterPattern.InvalidMessage, e.Message);
        Assert.False(new RecordFilter([pattern]).IsEmpty); // a queue (body/data as plain value) takes it
    }

    [Fact]
    public void Stream_mappings_take_json_data_patterns()
    {
        var filter = new RecordFilter(["""{"data":{"kind":["order"]}}"""], stream: true);
        Assert.True(filter.Matches(Message("""{"kind":"order"}"""), SourceKind.Stream));
        Assert.False(filter.Matches(Message("kind=order"), SourceKind.Stream)); // non-JSON data: dropped
    }
}
