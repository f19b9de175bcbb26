import {
  AirflowHealth,
  ComponentHealth,
  ComponentStatus,
  Dag,
  DagRun,
  TaskInstance,
  WireComponentHealth,
  WireDag,
  WireDagRun,
  WireHealth,
  WireTaskInstance,
} from './airflow.types';

/** Components whose ill health makes Airflow unable to run a DAG at all. */
const REQUIRED = ['metadatabase', 'scheduler'];

/** Wire → domain for Airflow 2 and 3 answers. */
export const AirflowMapper = {
  health(wire: WireHealth): AirflowHealth {
    const components: Record<string, ComponentHealth> = {};
    for (const [name, value] of Object.entries(wire)) {
      components[name] = component(value);
    }
    const healthy =
      REQUIRED.every((name) => components[name]?.status === 'healthy') &&
      Object.values(components).every((c) => c.status !== 'unhealthy');
    return { healthy, components };
  },

  dag(wire: WireDag): Dag {
    const schedule =
      wire.timetable_summary ??
      (typeof wire.schedule_interval === 'string' ? wire.schedule_interval : wire.schedule_interval?.value);
    return {
      dagId: wire.dag_id,
      displayName: wire.dag_display_name ?? wire.dag_id,
      description: wire.description ?? undefined,
      isPaused: Boolean(wire.is_paused),
      isActive: wire.is_stale != null ? !wire.is_stale : wire.is_active !== false,
      fileloc: wire.fileloc,
      tags: (wire.tags ?? []).map((t) => t.name),
      schedule: schedule ?? undefined,
    };
  },

  dagRun(wire: WireDagRun): DagRun {
    return {
      dagId: wire.dag_id,
      runId: wire.dag_run_id,
      state: wire.state ?? 'queued',
      logicalDate: date(wire.logical_date ?? wire.execution_date ?? wire.run_after),
      startDate: date(wire.start_date),
      endDate: date(wire.end_date),
      conf: wire.conf ?? {},
      note: wire.note ?? undefined,
    };
  },

  taskInstance(wire: WireTaskInstance): TaskInstance {
    return {
      taskId: wire.task_id,
      state: wire.state ?? undefined,
      tryNumber: wire.try_number,
      mapIndex: wire.map_index,
      startDate: date(wire.start_date),
      endDate: date(wire.end_date),
      durationSeconds: wire.duration ?? undefined,
      operator: wire.operator ?? undefined,
    };
  },
};

function component(wire: WireComponentHealth | null | undefined): ComponentHealth {
  const status: ComponentStatus =
    wire?.status === 'healthy' ? 'healthy' : wire?.status ? 'unhealthy' : 'not_running';
  const heartbeat =
    wire?.latest_scheduler_heartbeat ??
    wire?.latest_triggerer_heartbeat ??
    wire?.latest_dag_processor_heartbeat;
  return { status, latestHeartbeat: date(heartbeat) };
}

function date(value: string | null | undefined): Date | undefined {
  return value ? new Date(value) : undefined;
}
