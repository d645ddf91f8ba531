using System.Globalization;

namespace FnOperator.EventSources.Schedules;

/// <summary>
/// An EventBridge <c>cron(minutes hours day-of-month month day-of-week year)</c>: 6 fields; <c>, - * /</c> everywhere;
/// day-of-month <c>?</c>, <c>L</c>, <c>NW</c> (weekday nearest N), day-of-week <c>?</c>, <c>L</c> (Saturday), <c>dL</c>
/// (last d of the month), <c>d#n</c> (n-th d); days of week 1-7 = SUN-SAT; months JAN-DEC; years 1970-2199. Exactly one
/// of the two day fields is <c>?</c>; at most one <c>#</c>.
/// </summary>
public sealed class CronExpression
{
    private static readonly string[] Months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] Days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private readonly bool[] minutes;
    private readonly bool[] hours;
    private readonly bool[] months;
    private readonly bool[] years;
    private readonly Func<DateOnly, bool> day;

    private CronExpression(bool[] minutes, bool[] hours, bool[] months, bool[] years, Func<DateOnly, bool> day)
    {
        this.minutes = minutes;
        this.hours = hours;
        this.months = months;
        this.years = years;
        this.day = day;
    }

    /// <param name="body">The six fields, without <c>cron( )</c>.</param>
    /// <exception cref="FormatException">Not a valid EventBridge cron expression.</exception>
    public static CronExpression Parse(string body)
    {
        var f = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length != 6)
        {
            throw new FormatException("cron needs 6 fields: minutes hours day-of-month month day-of-week year");
        }

        if ((f[2] == "?") == (f[4] == "?"))
        {
            throw new FormatException("exactly one of day-of-month and day-of-week must be ?");
        }

        if (f[4].Count(c => c == '#') > 1 || (f[4].Contains('#', StringComparison.Ordinal) && f[4].Contains(',', StringComparison.Ordinal)))
        {
            throw new FormatException("only one # expression is allowed in day-of-week");
        }

        var day = f[2] != "?" ? DayOfMonth(f[2]) : DayOfWeek(f[4]);
        return new CronExpression(Field(f[0], 0, 59, null), Field(f[1], 0, 23, null), Field(f[3], 1, 12, Months), Field(f[5], 1970, 2199, null), day);
    }

    /// <summary>The first local minute strictly after <paramref name="after"/> that matches (searching at most 10 years).</summary>
    public DateTime? NextLocal(DateTime after)
    {
        var start = new DateTime(after.Year, after.Month, after.Day, after.Hour, after.Minute, 0, DateTimeKind.Unspecified).AddMinutes(1);
        for (var date = DateOnly.FromDateTime(start); date.Year <= Math.Min(2199, start.Year + 10); date = date.AddDays(1))
        {
            if (!years[date.Year - 1970] || !months[date.Month - 1] || !day(date))
            {
                continue;
            }

            var first = date == DateOnly.FromDateTime(start) ? start.Hour * 60 + start.Minute : 0;
            for (var m = first; m < 24 * 60; m++)
            {
                if (hours[m / 60] && minutes[m % 60])
                {
                    return date.ToDateTime(new TimeOnly(m / 60, m % 60));
                }
            }
        }

        return null;
    }

    private static Func<DateOnly, bool> DayOfMonth(string field)
    {
        if (field == "L")
        {
            return d => d.Day == DateTime.DaysInMonth(d.Year, d.Month);
        }

        if (field.EndsWith('W'))
        {
            var n = Number(field[..^1], 1, 31, null);
            return d => d == NearestWeekday(d.Year, d.Month, n);
        }

        var set = Field(field, 1, 31, null);
        return d => set[d.Day - 1];
    }

    private static Func<DateOnly, bool> DayOfWeek(string field)
    {
        static int Dow(DateOnly d) => (int)d.DayOfWeek + 1; // 1 = SUN … 7 = SAT
        if (field == "L")
        {
            return d => Dow(d) == 7;
        }

        if (field.Length > 1 && field.EndsWith('L'))
        {
            var w = Number(field[..^1], 1, 7, Days);
            return d => Dow(d) == w && d.Day + 7 > DateTime.DaysInMonth(d.Year, d.Month);
        }

        if (field.Split('#') is [var dw, var nth])
        {
            var w = Number(dw, 1, 7, Days);
            var n = Number(nth, 1, 5, null);
            return d => Dow(d) == w && (d.Day - 1) / 7 + 1 == n;
        }

        var set = Field(field, 1, 7, Days);
        return d => set[Dow(d) - 1];
    }

    private static DateOnly NearestWeekday(int year, int month, int n)
    {
        var last = DateTime.DaysInMonth(year, month);
        var d = new DateOnly(year, month, Math.Min(n, last));
        return d.DayOfWeek switch
        {
            System.DayOfWeek.Saturday => d.Day == 1 ? d.AddDays(2) : d.AddDays(-1),
            System.DayOfWeek.Sunday => d.Day == last ? d.AddDays(-2) : d.AddDays(1),
            _ => d,
        };
    }

    private static bool[] Field(string field, int min, int max, string[]? names)
    {
        var set = new bool[max - min + 1];
        foreach (var part in field.Split(','))
        {
            var (range, step) = part.Split('/') switch
            {
                [var r] => (r, 1),
                [var r, var s] => (r, Number(s, 1, max, null)),
                _ => throw new FormatException($"invalid cron field {field}"),
            };
            var (lo, hi) = range switch
            {
                "*" => (min, max),
                _ when range.Split('-') is [var a, var b] => (Number(a, min, max, names), Number(b, min, max, names)),
                _ => (Number(range, min, max, names), part.Contains('/', StringComparison.Ordinal) ? max : Number(range, min, max, names)),
            };
            if (lo > hi)
            {
                throw new FormatException($"invalid range {range}");
            }

            for (var v = lo; v <= hi; v += step)
            {
                set[v - min] = true;
            }
        }

        return set;
    }

    private static int Number(string text, int min, int max, string[]? names)
    {
        var i = names is null ? -1 : Array.IndexOf(names, text.ToUpperInvariant());
        var v = i >= 0 ? i + 1 : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"invalid value {text}");
        return v >= min && v <= max ? v : throw new FormatException($"{text} is out of range {min}-{max}");
    }
}
