import { AirflowMapper as sut } from './airflow.mapper';

describe('AirflowMapper', () => {
  describe('health', () => {
    const healthy = { status: 'healthy' };

    it('is healthy when metadatabase and scheduler are, and nothing is unhealthy', () => {
      const health = sut.health({
        metadatabase: healthy,
        scheduler: { status: 'healthy', latest_scheduler_heartbeat: '2025-03-01T12:00:00+00:00' },
        triggerer: { status: 'healthy', latest_triggerer_heartbeat: '2025-03-01T12:00:01+00:00' },
        dag_processor: {
          status: 'healthy',
          latest_dag_processor_heartbeat: '2025-03-01T12:00:02+00:00',
        },
      });

      expect(health.healthy).toBe(true);
      expect(health.components.scheduler.latestHeartbeat).toEqual(new Date('2025-03-01T12:00:00Z'));
      expect(health.components.triggerer.latestHeartbeat).toEqual(new Date('2025-03-01T12:00:01Z'));
      expect(health.components.dag_processor.latestHeartbeat).toEqual(
        new Date('2025-03-01T12:00:02Z'),
      );
    });

    it('calls a null triggerer not running, which leaves Airflow healthy', () => {
      const health = sut.health({ metadatabase: healthy, scheduler: healthy, triggerer: null });

      expect(health.components.triggerer).toEqual({
        status: 'not_running',
        latestHeartbeat: undefined,
      });
      expect(health.healthy).toBe(true);
    });

    it('calls a component with a null status not running', () => {
      const health = sut.health({
        metadatabase: healthy,
        scheduler: healthy,
        dag_processor: { status: null, latest_dag_processor_heartbeat: null },
      });

      expect(health.components.dag_processor.status).toBe('not_running');
      expect(health.healthy).toBe(true);
    });

    it('is unhealthy when the scheduler is', () => {
      const health = sut.health({ metadatabase: healthy, scheduler: { status: 'unhealthy' } });

      expect(health.components.scheduler.status).toBe('unhealthy');
      expect(health.healthy).toBe(false);
    });

    it('is unhealthy when the scheduler is not running', () => {
      expect(sut.health({ metadatabase: healthy, scheduler: null }).healthy).toBe(false);
    });

    it('is unhealthy when the metadatabase is missing', () => {
      expect(sut.health({ scheduler: healthy }).healthy).toBe(false);
    });

    it('is unhealthy when an optional component reports unhealthy', () => {
      const health = sut.health({
        metadatabase: healthy,
        scheduler: healthy,
        triggerer: { status: 'unhealthy' },
      });

      expect(health.healthy).toBe(false);
    });
  });

  describe('dag', () => {
    it('maps an Airflow 2 DAG', () => {
      expect(
        sut.dag({
          dag_id: 'train',
          description: null,
          is_paused: null,
          is_active: false,
          fileloc: '/dags/train.py',
          tags: [{ name: 'ml' }],
          schedule_interval: { value: '0 3 * * *' },
        }),
      ).toEqual({
        dagId: 'train',
        displayName: 'train',
        description: undefined,
        isPaused: false,
        isActive: false,
        fileloc: '/dags/train.py',
        tags: ['ml'],
        schedule: '0 3 * * *',
      });
    });

    it('maps an Airflow 3 DAG', () => {
      const dag = sut.dag({
        dag_id: 'train',
        dag_display_name: 'Train',
        is_paused: true,
        is_stale: false,
        timetable_summary: '@daily',
      });

      expect(dag).toMatchObject({
        displayName: 'Train',
        isPaused: true,
        isActive: true,
        schedule: '@daily',
        tags: [],
      });
    });

    it('calls a stale Airflow 3 DAG inactive', () => {
      expect(sut.dag({ dag_id: 'gone', is_stale: true }).isActive).toBe(false);
    });
  });

  describe('dagRun', () => {
    it('uses run_after when an Airflow 3 run has no logical date', () => {
      const run = sut.dagRun({
        dag_id: 'train',
        dag_run_id: 'r1',
        state: null,
        logical_date: null,
        run_after: '2025-03-01T12:00:00Z',
        conf: null,
        note: null,
      });

      expect(run).toEqual({
        dagId: 'train',
        runId: 'r1',
        state: 'queued',
        logicalDate: new Date('2025-03-01T12:00:00Z'),
        startDate: undefined,
        endDate: undefined,
        conf: {},
        note: undefined,
      });
    });

    it('uses the Airflow 2 execution_date', () => {
      const run = sut.dagRun({
        dag_id: 'train',
        dag_run_id: 'r1',
        execution_date: '2024-01-01T00:00:00Z',
      });

      expect(run.logicalDate).toEqual(new Date('2024-01-01T00:00:00Z'));
    });
  });

  describe('taskInstance', () => {
    it('maps nulls to undefined', () => {
      expect(
        sut.taskInstance({
          task_id: 't',
          state: null,
          try_number: 1,
          map_index: -1,
          start_date: '2025-03-01T12:00:00Z',
          end_date: null,
          duration: null,
          operator: 'PythonOperator',
        }),
      ).toEqual({
        taskId: 't',
        state: undefined,
        tryNumber: 1,
        mapIndex: -1,
        startDate: new Date('2025-03-01T12:00:00Z'),
        endDate: undefined,
        durationSeconds: undefined,
        operator: 'PythonOperator',
      });
    });
  });
});
