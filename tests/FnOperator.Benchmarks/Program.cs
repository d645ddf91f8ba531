using System.Reflection;
using FnOperator.Benchmarks;

var filter = args.Length > 0 ? args[0] : "";
var benchmarks = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .Where(b => b.Name.StartsWith(filter, StringComparison.OrdinalIgnoreCase))
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

if (benchmarks.Count == 0)
{
    Console.Error.WriteLine($"No benchmark matches '{filter}'.");
    return 2;
}

using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(20));
foreach (var benchmark in benchmarks)
{
    Console.WriteLine($"== {benchmark.Name}: {benchmark.Description}");
    foreach (var line in await benchmark.RunAsync(cts.Token))
    {
        Console.WriteLine($"   {line}");
    }
}

return 0;
