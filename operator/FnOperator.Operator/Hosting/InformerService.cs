using Microsoft.Extensions.Hosting;

namespace FnOperator.Operator.Hosting;

/// <summary>Runs the registered informers for the life of the process (on leaders and followers alike).</summary>
public sealed class InformerService(ControllerManager manager) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => manager.RunInformersAsync(stoppingToken);
}
