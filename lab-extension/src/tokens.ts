/**
 * The services scalene-lab's plugins provide to each other.
 */
import { Token } from '@lumino/coreutils';

import { HeatController } from './heat';
import { ScaleneSidebar } from './sidebar';

/** The "Scalene" sidebar panel (plugin `scalene-lab:sidebar`). */
export const IScaleneSidebar = new Token<ScaleneSidebar>('scalene-lab:IScaleneSidebar', 'The Scalene sidebar panel.');

/** The line heat of the cell editors (plugin `scalene-lab:heat`). */
export const IHeatController = new Token<HeatController>(
  'scalene-lab:IHeatController',
  'Line heat in the cell editors.'
);
