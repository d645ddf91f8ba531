using Microsoft.Extensions.Hosting;

namespace FnOperator.Operator.Hosting;

/// <summary>Runs the informers for the life of the process (on leaders and followers alike).</summary>
public sealed class InformerService(ControllerManager manager) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            Task.Run(() => manager.Functions.RunAsync(stoppingToken), stoppingToken),
            Task.Run(() => manager.Deployments.RunAsync(stoppingToken), stoppingToken));
}
