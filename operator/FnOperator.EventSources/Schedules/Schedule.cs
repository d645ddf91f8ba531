using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.EventSources.Schedules;

/// <summary>
/// A schedule expression: <c>rate(value unit)</c> (minute(s), hour(s), day(s); ticks at the anchor — the mapping's
/// creation — plus whole intervals) or <c>cron(…)</c> in a time zone (UTC by default). Across a DST change a local time
/// that does not exist is skipped and one that happens twice fires once, at its first occurrence.
/// </summary>
public sealed partial class Schedule
{
    private readonly TimeSpan? rate;
    private readonly CronExpression? cron;
    private readonly TimeZoneInfo zone;
    private readonly DateTimeOffset anchor;

    private Schedule(TimeSpan? rate, CronExpression? cron, TimeZoneInfo zone, DateTimeOffset anchor)
    {
        this.rate = rate;
        this.cron = cron;
        this.zone = zone;
        this.anchor = anchor;
    }

    /// <exception cref="FormatException">Not a valid expression or time zone.</exception>
    public static Schedule Parse(string expression, string? timezone, DateTimeOffset anchor)
    {
        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrEmpty(timezone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timezone);
        }
        catch (TimeZoneNotFoundException e)
        {
            throw new FormatException($"unknown time zone {timezone}", e);
        }

        if (RatePattern().Match(expression) is { Success: true } m)
        {
            var value = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = m.Groups[2].Value;
            if ((value == 1) != !unit.EndsWith('s'))
            {
                throw new FormatException("rate takes the singular unit for 1 and the plural otherwise, e.g. rate(1 hour), rate(5 minutes)");
            }

            var interval = unit.TrimEnd('s') switch { "minute" => TimeSpan.FromMinutes(value), "hour" => TimeSpan.FromHours(value), _ => TimeSpan.FromDays(value) };
            return new Schedule(interval, null, zone, anchor);
        }

        if (expression.StartsWith("cron(", StringComparison.Ordinal) && expression.EndsWith(')'))
        {
            return new Schedule(null, CronExpression.Parse(expression[5..^1]), zone, anchor);
        }

        throw new FormatException("expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)");
    }

    /// <summary>The first tick strictly after <paramref name="after"/>, or null when there is none (a cron year range passed).</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        if (rate is { } interval)
        {
            var n = after < anchor ? 0 : ((after - anchor).Ticks / interval.Ticks) + 1;
            return anchor + (interval * n);
        }

        var local = TimeZoneInfo.ConvertTime(after, zone).DateTime;
        for (var i = 0; i < 1000; i++)
        {
            if (cron!.NextLocal(local) is not { } next)
            {
                return null;
            }

            local = next;
            if (zone.IsInvalidTime(next))
            {
                continue; // skipped by a spring-forward change
            }

            var offset = zone.IsAmbiguousTime(next) ? zone.GetAmbiguousTimeOffsets(next).Max() : zone.GetUtcOffset(next);
            var tick = new DateTimeOffset(next, offset);
            if (tick > after)
            {
                return tick.ToUniversalTime();
            }
        }

        return null;
    }

    [GeneratedRegex("^rate\\(([1-9][0-9]*) (minutes?|hours?|days?)\\)$")]
    private static partial Regex RatePattern();
}
