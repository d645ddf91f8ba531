using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Tests;

/// <summary>The request ids, lease tokens and trace ids of the invoke path: random version 4 UUIDs that never repeat.</summary>
public sealed class RandomIdsTests
{
    [Fact]
    public void Ids_are_version_4_rfc_uuids_in_their_text_form()
    {
        for (var i = 0; i < 1000; i++)
        {
            var text = RandomIds.NewGuid().ToString();

            // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, as Lambda's request ids and Guid.NewGuid's.
            Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", text);
        }
    }

    [Fact]
    public async Task Ids_drawn_on_many_threads_across_many_refills_never_repeat()
    {
        const int PerThread = 20_000;
        var lists = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var ids = new Guid[PerThread];
            for (var i = 0; i < PerThread; i++)
            {
                ids[i] = RandomIds.NewGuid();
            }

            return ids;
        })));

        var all = lists.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.DoesNotContain(Guid.Empty, all);
    }

    [Fact]
    public void The_random_bits_vary_in_every_position_outside_the_version_and_variant()
    {
        // A stuck byte (e.g. a buffer handed out twice or not refilled) shows as a position that never changes.
        var first = RandomIds.NewGuid().ToByteArray();
        var varied = new bool[16];
        for (var i = 0; i < 2000; i++)
        {
            var bytes = RandomIds.NewGuid().ToByteArray();
            for (var b = 0; b < 16; b++)
            {
                varied[b] |= bytes[b] != first[b];
            }
        }

        Assert.All(Enumerable.Range(0, 16), b => Assert.True(varied[b], $"byte {b} never changed"));
    }
}
